/**
 * The layers of src/, as docs/architecture.md draws them, held by walking every import:
 *
 * - `http1/` (the HTTP/1.1 server, client and wire syntax) knows nothing of Ory, sessions or
 *   rewriting: it imports nothing from `proxy/`, `session/`, `rewrite/` or `cli/`;
 * - `proxy/` imports nothing from `cli/`;
 * - nothing imports `cli/` but `main.ts` (and `cli/` itself);
 * - no file in src/ is over 600 lines (one concept a file).
 */
import { assertEquals } from "./_support/assert.ts";

const SRC = new URL("../src/", import.meta.url).pathname;

/** Every `.ts` file under src/, relative to it. */
async function sourceFiles(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(SRC + dir)) {
    const path = dir + entry.name;
    if (entry.isDirectory) files.push(...await sourceFiles(path + "/"));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** The src-relative files `file` imports (static, dynamic and re-exports; relative only). */
function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of text.matchAll(pattern)) {
    const url = new URL(m[1], `file:///src/${file}`);
    found.push(url.pathname.slice("/src/".length));
  }
  return found;
}

const top = (path: string) => path.includes("/") ? path.slice(0, path.indexOf("/")) : path;

/** Which imports break a rule, as "importer → imported (rule)". */
export function breaches(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    for (const imported of imports) {
      const from = top(file);
      const to = top(imported);
      if (from === "http1" && ["proxy", "session", "rewrite", "cli"].includes(to)) {
        out.push(`${file} → ${imported} (http1/ knows nothing of ${to}/)`);
      } else if (to === "cli" && from !== "cli" && file !== "main.ts") {
        out.push(`${file} → ${imported} (only main.ts imports cli/)`);
      }
    }
  }
  return out;
}

Deno.test("src/ layers: no import crosses a rule", async () => {
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles()) {
    graph.set(file, importsOf(file, await Deno.readTextFile(SRC + file)));
  }
  assertEquals(breaches(graph), []);
});

Deno.test("breaches() finds each kind of breach (the check can fail)", () => {
  const graph = new Map([
    ["http1/server.ts", ["proxy/handler.ts", "http1/syntax.ts", "errors.ts"]],
    ["http1/client.ts", ["session/gate.ts"]],
    ["proxy/handler.ts", ["cli/engine.ts", "http1/client.ts"]],
    ["main.ts", ["cli/run.ts"]],
    ["cli/run.ts", ["cli/engine.ts"]],
  ]);
  assertEquals(breaches(graph), [
    "http1/server.ts → proxy/handler.ts (http1/ knows nothing of proxy/)",
    "http1/client.ts → session/gate.ts (http1/ knows nothing of session/)",
    "proxy/handler.ts → cli/engine.ts (only main.ts imports cli/)",
  ]);
});

Deno.test("src/ files stay near one concept: none over 600 lines", async () => {
  const long: string[] = [];
  for (const file of await sourceFiles()) {
    const lines = (await Deno.readTextFile(SRC + file)).split("\n").length;
    if (lines > 600) long.push(`${file}: ${lines} lines`);
  }
  assertEquals(long, []);
});
