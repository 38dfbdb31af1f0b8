import { mapUrl, urlMapping } from "../../src/rewrite/url_map.ts";
import { assertEquals } from "../_support/assert.ts";

const ORY = [
  urlMapping(new URL("https://x.projects.oryapis.com"), new URL("http://localhost:4000"), "/.ory"),
];

Deno.test("mapUrl() moves Ory URLs under the publish prefix", async (t) => {
  await t.step("path and query are kept", () => {
    assertEquals(
      mapUrl("https://x.projects.oryapis.com/ui/login?flow=1#f", ORY),
      "http://localhost:4000/.ory/ui/login?flow=1#f",
    );
  });
  await t.step("the bare origin maps to the prefix", () => {
    assertEquals(mapUrl("https://x.projects.oryapis.com", ORY), "http://localhost:4000/.ory");
  });
  await t.step("scheme and host compare case-insensitively", () => {
    assertEquals(mapUrl("HTTPS://X.projects.oryapis.com/a", ORY), "http://localhost:4000/.ory/a");
  });
  await t.step("lookalike hosts are not mapped", () => {
    assertEquals(mapUrl("https://x.projects.oryapis.com.evil.net/a", ORY), undefined);
    assertEquals(mapUrl("https://x.projects.oryapis.comx/a", ORY), undefined);
    assertEquals(mapUrl("http://x.projects.oryapis.com/a", ORY), undefined);
  });
  await t.step("a base path only matches at a segment boundary", () => {
    const m = [
      urlMapping(
        new URL("http://127.0.0.1:4433/kratos/"),
        new URL("http://localhost:4000"),
        "/.ory",
      ),
    ];
    assertEquals(mapUrl("http://127.0.0.1:4433/kratos/ui", m), "http://localhost:4000/.ory/ui");
    assertEquals(mapUrl("http://127.0.0.1:4433/kratosx/ui", m), undefined);
  });
});
