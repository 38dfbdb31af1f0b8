// Two passing tests (run by tests/scripts/test_count_test.ts, not by `deno test tests/`).
Deno.test("passes 1", () => {});
Deno.test("passes 2", () => {});
