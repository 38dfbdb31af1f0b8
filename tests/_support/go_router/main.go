// A real Go net/http ServeMux as a judge for the path-protection property test: for each
// request target read from stdin (one per line), it parses a request with net/http's own
// reader, serves it with a ServeMux that has "/members" and "/members/" handlers, and prints
// one word: "members" (a members handler ran), "other" (another handler ran), "redirect"
// (the mux answered a redirect, e.g. to a cleaned path, which the browser then requests
// through the proxy again), or "error" (net/http refused the request).
package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
)

func main() {
	mux := http.NewServeMux()
	members := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "members") }
	mux.HandleFunc("/members", members)
	mux.HandleFunc("/members/", members)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "other") })

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		raw := "GET " + in.Text() + " HTTP/1.1\r\nHost: x\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		verdict := "error"
		if err == nil {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			switch {
			case rec.Code >= 300 && rec.Code < 400:
				verdict = "redirect"
			case rec.Body.String() == "members":
				verdict = "members"
			default:
				verdict = "other"
			}
		}
		fmt.Fprintln(out, verdict)
		out.Flush()
	}
}
