#!/usr/bin/env bash
# Builds the Ory Kratos server (SQLite, cgo) from the Go module proxy and caches the binary
# outside the repository, so a machine builds it once. Prints the binary's path on stdout.
# With --cached it only says whether that is done: prints the path and exits 0, or exits 1.
#
# Kratos's go.mod has `replace` directives, so `go install github.com/ory/kratos@v1.3.1` refuses
# it. A tiny wrapper module requires Kratos and repeats its non-local replaces; the local
# `client-go` replace is not needed to build the server. Releases v25+ point github.com/ory/x at
# a nested folder the module proxy does not serve, so they cannot be built this way.
set -euo pipefail

KRATOS_VERSION="${KRATOS_VERSION:-v1.3.1}"
CACHE_DIR="${ORYGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orygate}"
OUT="$CACHE_DIR/kratos-$KRATOS_VERSION/kratos"

if [[ -x "$OUT" ]] && "$OUT" version >/dev/null 2>&1; then
  echo "$OUT"
  exit 0
fi
[[ "${1:-}" == "--cached" ]] && exit 1

command -v go >/dev/null || { echo "build.sh: the Go toolchain is required to build Kratos" >&2; exit 1; }
command -v gcc >/dev/null || { echo "build.sh: gcc is required (Kratos's SQLite driver uses cgo)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > go.mod <<GOMOD
module orygate.local/kratos-build

go 1.23

require github.com/ory/kratos $KRATOS_VERSION

replace (
	github.com/go-swagger/go-swagger => github.com/aeneasr/go-swagger v0.19.1-0.20241013070044-bccef3a12e26
	github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.0
	github.com/gorilla/sessions => github.com/ory/sessions v1.2.2-0.20220110165800-b09c17334dc2
	github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.22
)
GOMOD

cat > main.go <<'GO'
// Command kratos runs the Ory Kratos server; it only wraps github.com/ory/kratos/cmd.
package main

import (
	"os"

	"github.com/ory/kratos/cmd"
)

func main() { os.Exit(cmd.Execute()) }
GO

echo "build.sh: building Ory Kratos $KRATOS_VERSION (first time on this machine, several minutes)..." >&2
export GOFLAGS="-mod=mod" CGO_ENABLED=1 GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
go mod tidy >&2
mkdir -p "$(dirname "$OUT")"
go build -tags sqlite,json1 -trimpath -ldflags "-s -w" -o "$OUT.tmp" . >&2
mv "$OUT.tmp" "$OUT"
"$OUT" version >&2
echo "$OUT"
