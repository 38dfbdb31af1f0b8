import { rewriteLocation } from "../../src/rewrite/location.ts";
import { assertEquals } from "../_support/assert.ts";
import { mappings, welcome } from "./_fixtures.ts";

const fromOry = {
  requestUrl: new URL("https://x.projects.oryapis.com/self-service/login/browser"),
  mappings,
  welcome,
};

Deno.test("rewriteLocation()", async (t) => {
  await t.step("moves absolute Ory URLs under /.ory", () => {
    assertEquals(
      rewriteLocation("https://x.projects.oryapis.com/ui/login?flow=1", fromOry),
      "http://localhost:4000/.ory/ui/login?flow=1",
    );
  });
  await t.step(
    "resolves Ory's relative locations against the Ory request, staying absolute",
    () => {
      assertEquals(
        rewriteLocation("/ui/login?flow=1", fromOry),
        "http://localhost:4000/.ory/ui/login?flow=1",
      );
      assertEquals(
        rewriteLocation("settings", fromOry),
        "http://localhost:4000/.ory/self-service/login/settings",
      );
    },
  );
  await t.step("sends Ory's welcome page to the default redirect", () => {
    assertEquals(
      rewriteLocation("https://x.projects.oryapis.com/ui/welcome", fromOry),
      "http://localhost:4000/",
    );
    assertEquals(rewriteLocation("/ui/welcome?x=1", fromOry), "http://localhost:4000/");
  });
  await t.step("moves the app's own absolute URLs onto the publish URL", () => {
    const fromApp = { requestUrl: new URL("http://127.0.0.1:3000/x"), mappings };
    assertEquals(
      rewriteLocation("http://127.0.0.1:3000/landed?x=1", fromApp),
      "http://localhost:4000/landed?x=1",
    );
    assertEquals(rewriteLocation("/ui/welcome", fromApp), "http://localhost:4000/ui/welcome");
  });
  await t.step("leaves foreign URLs and other schemes alone", () => {
    assertEquals(
      rewriteLocation("https://accounts.google.com/o/oauth2", fromOry),
      "https://accounts.google.com/o/oauth2",
    );
    assertEquals(rewriteLocation("myapp://callback?code=1", fromOry), "myapp://callback?code=1");
  });
  await t.step("never yields a scheme-relative or schemeless URL", () => {
    for (
      const input of [
        "//evil.com/x",
        "/ui/login",
        "ui/login",
        "?a=1",
        "https://x.projects.oryapis.com",
      ]
    ) {
      const out = rewriteLocation(input, fromOry);
      assertEquals(/^https?:\/\/[^/]/.test(out), true, `${input} → ${out}`);
    }
  });
});
