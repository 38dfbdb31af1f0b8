import { extractCredentials } from "../../src/session/credentials.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("extractCredentials()", async (t) => {
  await t.step("no Ory credential → undefined", async () => {
    assertEquals(await extractCredentials(new Headers({ cookie: "app=1; theme=dark" })), undefined);
    assertEquals(await extractCredentials(new Headers({ authorization: "Basic YTpi" })), undefined);
  });
  await t.step("keeps only Ory's session cookies", async () => {
    const c = await extractCredentials(
      new Headers({ cookie: "app=1; ory_session_abc=s1; ory_kratos_session=s2" }),
    );
    assertEquals(c?.cookie, "ory_kratos_session=s2; ory_session_abc=s1");
  });
  await t.step("the key is a hash and never contains the secret", async () => {
    const c = await extractCredentials(new Headers({ "x-session-token": "supersecret" }));
    assertEquals(/^[0-9a-f]{64}$/.test(c!.key), true);
    assertEquals(c!.key.includes("supersecret"), false);
  });
  await t.step("the same credentials give the same key; others differ", async () => {
    const a = await extractCredentials(new Headers({ authorization: "Bearer t1" }));
    const b = await extractCredentials(new Headers({ authorization: "Bearer t1" }));
    const c = await extractCredentials(new Headers({ authorization: "Bearer t2" }));
    assertEquals(a!.key, b!.key);
    assertEquals(a!.key === c!.key, false);
  });
});
