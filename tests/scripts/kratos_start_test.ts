/**
 * scripts/kratos/start.ts prints the next steps of README's quick start, word for word: the
 * commands it prints for the quick-start ports are the ones in README.md and
 * examples/app/README.md (comments and line continuations aside).
 */
import { nextSteps } from "../../scripts/kratos/start.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** The shell commands of a text: `\` continuations joined, comments and prompts dropped. */
function commands(text: string): string[] {
  return text.replace(/\\\n\s*/g, " ").split("\n")
    .map((line) => line.replace(/\s#.*$/, "").replace(/\s+/g, " ").trim())
    .filter((line) => /^(PORT=|deno run)/.test(line));
}

/** The commands in the ```sh blocks of a Markdown file. */
async function documented(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(new URL(file, ROOT));
  return [...text.matchAll(/```sh\n([^]*?)```/g)].flatMap((m) => commands(m[1]));
}

Deno.test("nextSteps() prints README's quick-start commands, protecting /members", async () => {
  const printed = nextSteps("http://localhost:4455", "http://127.0.0.1:4433");
  const steps = commands(printed);
  assertEquals(steps.length, 2, printed);
  assertMatch(steps[1], /--protect-path-prefix \/members$/);
  assertMatch(printed, /open http:\/\/localhost:4455\/members/);
  for (const file of ["README.md", "examples/app/README.md"]) {
    const docs = await documented(file);
    for (const step of steps) assertEquals(docs.includes(step), true, `${file} has: ${step}`);
  }
});
