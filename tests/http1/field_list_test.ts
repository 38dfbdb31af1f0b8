import { FieldList } from "../../src/http1/field_list.ts";
import { assert } from "../_support/assert.ts";

Deno.test("FieldList behaves as Headers does for what orygate uses", async (t) => {
  await t.step("names are case-insensitive; repeated fields join with ', '", () => {
    const h = new FieldList();
    h.append("X-A", "1");
    h.append("x-a", " 2 ");
    assert.equal(h.get("X-a"), "1, 2");
    assert.equal(h.get("missing"), null);
    assert.ok(h.has("X-A") && !h.has("x-b"));
  });
  await t.step("set replaces every line of a name; delete removes them all", () => {
    const h = new FieldList();
    h.append("a", "1");
    h.append("b", "x");
    h.append("a", "2");
    h.append("a", "3");
    h.set("A", "9");
    assert.deepEqual([...h], [["a", "9"], ["b", "x"]]);
    h.append("b", "y");
    h.delete("B");
    assert.deepEqual([...h], [["a", "9"]]);
  });
  await t.step("Set-Cookie lines stay separate", () => {
    const h = new FieldList();
    h.append("Set-Cookie", "a=1; Path=/");
    h.append("set-cookie", "b=2, c");
    assert.deepEqual(h.getSetCookie(), ["a=1; Path=/", "b=2, c"]);
  });
  await t.step("iteration yields each line as it came, in order (not sorted, not joined)", () => {
    const h = new FieldList();
    h.append("z", "1");
    h.append("a", "2");
    h.append("z", "3");
    const seen: string[] = [];
    h.forEach((value, name) => seen.push(`${name}=${value}`));
    assert.deepEqual(seen, ["z=1", "a=2", "z=3"]);
    assert.deepEqual([...h.keys()], ["z", "a", "z"]);
    assert.deepEqual([...h.values()], ["1", "2", "3"]);
  });
  await t.step("CR, LF, NUL and non-byte characters are refused, as Headers refuses them", () => {
    const h = new FieldList();
    for (const bad of ["a\r\nb", "a\nb", "a\0b", "a\u2028b"]) {
      assert.throws(() => h.set("x", bad), TypeError);
      assert.throws(() => new Headers().set("x", bad), TypeError);
    }
    assert.throws(() => h.append("bad name", "v"), TypeError);
    assert.deepEqual([...h], []);
  });
  await t.step("checks hold however often a name or value was accepted before", () => {
    // Names and the last value are remembered as checked: a bad one must still be refused.
    const h = new FieldList();
    h.set("authorization", "Bearer good");
    h.set("authorization", "Bearer good");
    assert.throws(() => h.set("authorization", "Bearer good\r\nx-evil: 1"), TypeError);
    assert.throws(() => h.set("authorization ", "v"), TypeError);
    h.set("x", "  padded\t");
    assert.equal(h.get("x"), "padded");
    h.set("y", "padded");
    assert.equal(h.get("y"), "padded");
    h.set("z", " padded ");
    assert.equal(h.get("z"), "padded");
    assert.equal(h.get("authorization"), "Bearer good");
  });
  await t.step("usable wherever a HeadersInit is", async () => {
    const h = new FieldList();
    h.append("content-type", "text/plain");
    const res = new Response("hi", { headers: h });
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.equal(await res.text(), "hi");
  });
});
