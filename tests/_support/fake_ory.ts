/**
 * A local stand-in for Ory's HTTP behaviour: redirects (absolute and relative), compressed
 * bodies with absolute Ory URLs, cookies with Ory's Domain, whoami with controllable
 * answers (sessions with their AAL, addresses, traits and metadata; Kratos's 403
 * `session_aal2_required`; 429s, failures), logout, and the submissions of the flows that
 * change a session or identity (verification, an AAL2 login, settings), which set no cookie.
 */
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { compressed as z } from "./compress.ts";
import { aal2RequiredBody } from "./kratos_errors.ts";

/** A session the stand-in knows, by token. */
export interface FakeSession {
  readonly id: string;
  readonly identityId: string;
  readonly email: string;
  /** ISO time; default: one hour ahead. */
  readonly expiresAt?: string;
  active?: boolean;
  /** `authenticator_assurance_level`; default `aal1`. */
  aal?: string;
  /** Whoami answers 403 `session_aal2_required`, as Kratos does with `required_aal: highest_available`. */
  aal2Required?: boolean;
  /** The identity's `verifiable_addresses`; default: none. */
  verifiableAddresses?: { via: string; value: string; verified: boolean }[];
  /** Traits besides `email`. */
  traits?: Record<string, unknown>;
  metadataPublic?: Record<string, unknown>;
  /** Default: `default`. */
  schemaId?: string;
}

/** The stand-in and its knobs. */
export interface FakeOry {
  readonly port: number;
  readonly origin: string;
  /** token → session; the same token works as cookie, X-Session-Token and Bearer. */
  readonly sessions: Map<string, FakeSession>;
  /** Requests seen, newest last. */
  readonly requests: { path: string; headers: Headers }[];
  /** How many whoami calls were made. */
  whoamiCalls: number;
  /** Next N whoami calls answer 429. */
  rateLimitNext: number;
  /** Whoami answers 500 while true. */
  failing: boolean;
  /** Delay for each whoami, in ms. */
  whoamiDelayMs: number;
  close(): Promise<void>;
}

function tokenFrom(headers: Headers): string | undefined {
  const cookie = /(?:^|;\s*)(?:ory_kratos_session|ory_session_\w+)=([^;]+)/.exec(
    headers.get("cookie") ?? "",
  );
  return headers.get("x-session-token") ?? cookie?.[1] ??
    /^Bearer (.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
}

let bomb: Uint8Array<ArrayBuffer> | undefined;

async function gzipBomb(mib: number): Promise<Uint8Array<ArrayBuffer>> {
  const zeros = new Uint8Array(1024 * 1024);
  let left = mib;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (left-- === 0) return c.close();
      c.enqueue(zeros);
    },
  });
  return new Uint8Array(
    await new Response(
      source.pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    ).arrayBuffer(),
  );
}

/** Starts the stand-in on a free loopback port (or on `port`, to come back where it was). */
export function startFakeOry(options: { readonly port?: number } = {}): FakeOry {
  const state: FakeOry = {
    port: 0,
    origin: "",
    sessions: new Map(),
    requests: [],
    whoamiCalls: 0,
    rateLimitNext: 0,
    failing: false,
    whoamiDelayMs: 0,
    close: () => server.shutdown(),
  };
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const self: string = `http://127.0.0.1:${server.addr.port}`;
    state.requests.push({ path: url.pathname + url.search, headers: req.headers });
    switch (url.pathname) {
      case "/sessions/whoami": {
        state.whoamiCalls++;
        if (state.whoamiDelayMs) await new Promise((r) => setTimeout(r, state.whoamiDelayMs));
        if (state.rateLimitNext > 0) {
          state.rateLimitNext--;
          return new Response("slow down", { status: 429, headers: { "retry-after": "7" } });
        }
        if (state.failing) return new Response("boom", { status: 500 });
        const token = tokenFrom(req.headers);
        const s = token ? state.sessions.get(token) : undefined;
        if (!s || s.active === false) {
          return Response.json({ error: { code: 401 } }, { status: 401 });
        }
        if (s.aal2Required) {
          const to = `${self}/self-service/login/browser?aal=aal2`;
          return Response.json(aal2RequiredBody(to), { status: 403 });
        }
        return Response.json({
          id: s.id,
          active: true,
          expires_at: s.expiresAt ?? new Date(Date.now() + 3600_000).toISOString(),
          authenticator_assurance_level: s.aal ?? "aal1",
          identity: {
            id: s.identityId,
            schema_id: s.schemaId ?? "default",
            traits: { email: s.email, ...s.traits },
            schema_url: `${self}/schemas/default`,
            metadata_public: s.metadataPublic ?? null,
            ...(s.verifiableAddresses ? { verifiable_addresses: s.verifiableAddresses } : {}),
          },
        });
      }
      // Flow submissions that change the session or identity; a wrong code changes nothing.
      case "/self-service/verification":
      case "/self-service/login":
      case "/self-service/settings": {
        const s = state.sessions.get(tokenFrom(req.headers) ?? "");
        const body = new URLSearchParams(await req.text());
        if (req.method !== "POST" || !s || body.get("code") !== "123456") {
          return Response.json({ error: { code: 400, status: "Bad Request" } }, { status: 400 });
        }
        if (url.pathname.endsWith("/verification")) {
          for (const a of s.verifiableAddresses ?? []) a.verified = true;
          // A browser's verification answers with a redirect and sets no cookie.
          return new Response(null, {
            status: 303,
            headers: { location: `${self}/ui/verification?flow=done` },
          });
        }
        if (url.pathname.endsWith("/login")) Object.assign(s, { aal: "aal2", aal2Required: false });
        else s.traits = { ...s.traits, ...JSON.parse(body.get("traits") ?? "{}") };
        // API flows answer with JSON and set no cookie either.
        return Response.json({ session: { id: s.id } });
      }
      case "/self-service/login/browser":
        return new Response(null, {
          status: 303,
          headers: [
            ["location", "/ui/login?flow=abc"],
            [
              "set-cookie",
              `csrf_token_x=c1; Domain=127.0.0.1; Path=/; HttpOnly; Secure; SameSite=None`,
            ],
            ["set-cookie", `other=2; Path=/`],
          ],
        });
      case "/self-service/login/flows":
        return new Response(
          z(
            gzipSync,
            JSON.stringify({
              id: "abc",
              ui: { action: `${self}/self-service/login?flow=abc`, method: "POST" },
              escaped: "ESCAPED",
              lookalike: `${self}1/not-ory`,
            }).replace('"ESCAPED"', JSON.stringify(`${self}/x`).replaceAll("/", "\\/")),
          ),
          {
            headers: {
              "content-type": "application/json; charset=utf-8",
              "content-encoding": "gzip",
            },
          },
        );
      case "/page.html":
        return new Response(z(brotliCompressSync, `<a href="${self}/ui/login">login</a>`), {
          headers: { "content-type": "text/html", "content-encoding": "br" },
        });
      case "/script.js":
        return new Response(z(deflateSync, `fetch("${self}/sessions/whoami")`), {
          headers: { "content-type": "application/javascript", "content-encoding": "deflate" },
        });
      case "/image.bin":
        return new Response(z(gzipSync, `binary ${self}`), {
          headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
        });
      case "/big.json":
        return new Response(
          z(
            gzipSync,
            JSON.stringify({ pad: "x".repeat(Number(url.searchParams.get("n") ?? "1000")) }),
          ),
          {
            headers: { "content-type": "application/json", "content-encoding": "gzip" },
          },
        );
      case "/bomb": {
        // 256 MiB of zeros, gzip-compressed to a few hundred KiB, served as JSON.
        bomb ??= await gzipBomb(256);
        return new Response(bomb, {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
        });
      }
      case "/welcome":
        return new Response(null, { status: 303, headers: { location: `${self}/ui/welcome` } });
      case "/self-service/logout": {
        const token = tokenFrom(req.headers);
        if (token) state.sessions.delete(token);
        return new Response(null, {
          status: 303,
          headers: {
            location: `${self}/ui/welcome`,
            "set-cookie": "ory_kratos_session=; Path=/; Max-Age=0; HttpOnly",
          },
        });
      }
      case "/cors":
        return new Response("{}", {
          headers: { "access-control-allow-origin": "*", "content-type": "application/json" },
        });
      default:
        return Response.json({ path: url.pathname, headers: Object.fromEntries(req.headers) });
    }
  });
  Object.assign(state, { port: server.addr.port, origin: `http://127.0.0.1:${server.addr.port}` });
  return state;
}
