// One test passes, one is ignored, one fails.
Deno.test("passes", () => {});
Deno.test({ name: "ignored", ignore: true, fn() {} });
Deno.test("fails", () => {
  throw new Error("a deliberate failure");
});
