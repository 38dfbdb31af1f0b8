/**
 * Real routers as judges of where a request target lands: for the path-protection property
 * test. Each answers whether its router would dispatch a target to a handler mounted at
 * `/members` (or below). They are the libraries themselves, not re-implementations:
 *
 * - Express 5 (its `router` and path-to-regexp), as a real HTTP server on loopback that also
 *   serves as orygate's upstream application and echoes the target it received;
 * - Hono (`app.request()`, which parses the target into a web `Request` like its adapters);
 * - URLPattern (the web platform's, `/members{/*}?`);
 * - Go net/http's ServeMux (`go_router/main.go`, requests read with net/http's own parser);
 * - a hand-written check as apps write it: `decodeURIComponent(path).startsWith("/members/")`.
 */
import express from "express";
import { Hono } from "hono";
import type { Server } from "node:http";

/** What a judge says about a target. */
export type Verdict = "members" | "other";

/** A router that judges one request target at a time. */
export interface Judge {
  readonly name: string;
  judge(target: string): Promise<Verdict>;
}

/** The Express app: `app.use("/members")` answers `members <target>`, others `other <target>`. */
export interface ExpressApp {
  readonly origin: string;
  /** Every request target the app received, as received. */
  readonly seen: string[];
  close(): Promise<void>;
}

/** Starts the Express application on a free loopback port. */
export async function startExpressApp(): Promise<ExpressApp> {
  const app = express();
  const seen: string[] = [];
  // deno-lint-ignore no-explicit-any
  app.use((req: any, _res: any, next: () => void) => {
    seen.push(req.originalUrl);
    next();
  });
  // deno-lint-ignore no-explicit-any
  app.use("/members", (req: any, res: any) => res.type("text").send(`members ${req.originalUrl}`));
  // deno-lint-ignore no-explicit-any
  app.use((req: any, res: any) => res.type("text").send(`other ${req.originalUrl}`));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Hono with `/members` and `/members/*` routes. */
export function honoJudge(): Judge {
  const app = new Hono();
  app.all("/members", (c) => c.text("members"));
  app.all("/members/*", (c) => c.text("members"));
  app.all("*", (c) => c.text("other"));
  return {
    name: "Hono",
    async judge(target) {
      try {
        const res = await app.request(target);
        return (await res.text()) === "members" ? "members" : "other";
      } catch {
        return "other"; // Hono could not parse it: no handler ran
      }
    },
  };
}

/** URLPattern `/members{/*}?` on the target parsed as a URL. */
export function urlPatternJudge(): Judge {
  const pattern = new URLPattern({ pathname: "/members{/*}?" });
  return {
    name: "URLPattern",
    judge: (target) => {
      try {
        return Promise.resolve(pattern.test("http://x" + target) ? "members" : "other");
      } catch {
        return Promise.resolve("other");
      }
    },
  };
}

/** The check an application writes by hand. */
export function naiveJudge(): Judge {
  return {
    name: "decodeURIComponent + startsWith",
    judge: (target) => {
      let path: string;
      try {
        path = decodeURIComponent(target.split("?")[0]);
      } catch {
        return Promise.resolve("other");
      }
      return Promise.resolve(
        path === "/members" || path.startsWith("/members/") ? "members" : "other",
      );
    },
  };
}

/** Go's ServeMux: one built child answering a line per target (`go_router/main.go`). */
export async function goJudge(): Promise<Judge & { close(): Promise<void> }> {
  const dir = new URL("./go_router/", import.meta.url).pathname;
  const out = await Deno.makeTempDir();
  const build = await new Deno.Command("go", {
    args: ["build", "-o", `${out}/go_router`, "main.go"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!build.success) {
    throw new Error(`go build go_router: ${new TextDecoder().decode(build.stderr)}`);
  }
  const child = new Deno.Command(`${out}/go_router`, {
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
    .getReader();
  const encoder = new TextEncoder();
  // One target at a time: a line out, a line back.
  let queue = Promise.resolve<Verdict>("other");
  return {
    name: "Go net/http ServeMux",
    judge(target) {
      queue = queue.then(async () => {
        await writer.write(encoder.encode(target + "\n"));
        const { value } = await lines.read();
        if (value === undefined) throw new Error("go_router ended");
        // A redirect sends the browser to the cleaned path through the proxy again.
        return value === "members" ? "members" : "other";
      });
      return queue;
    },
    async close() {
      await writer.close().catch(() => {});
      await child.status;
      await Deno.remove(out, { recursive: true });
    },
  };
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
  });
}
