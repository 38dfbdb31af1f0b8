import assert from "node:assert/strict";
import { manualTrustSteps } from "../../src/tls/manual_trust.ts";
import { DEFAULT_NICKNAME } from "../../src/tls/trust_locations.ts";

Deno.test("manualTrustSteps() lists each store of the OS with its command, running nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const home = `${dir}/home`;
    const profiles = `${home}/.mozilla/firefox`;
    await Deno.mkdir(`${profiles}/abc.default`, { recursive: true });
    await Deno.writeTextFile(`${profiles}/abc.default/cert9.db`, "");
    await Deno.mkdir(`${profiles}/old.legacy`, { recursive: true });
    await Deno.writeTextFile(`${profiles}/old.legacy/cert8.db`, "");
    const caFile = `${dir}/my ca.pem`;
    const nss = (db: string) =>
      `certutil -d sql:${db} -A -t C,, -n '${DEFAULT_NICKNAME}' -i '${caFile}'`;

    await t.step("Linux: NSS, Firefox profiles and the system store", async () => {
      const anchors = `${dir}/anchors`;
      await Deno.mkdir(anchors);
      await Deno.mkdir(`${home}/.pki/nssdb`, { recursive: true });
      await Deno.writeTextFile(`${home}/.pki/nssdb/cert9.db`, "");
      const steps = await manualTrustSteps(caFile, {
        os: "linux",
        env: { HOME: home },
        linuxSystemStores: [
          { anchorDir: `${dir}/absent`, fileName: "x.pem", update: ["update-ca-trust", "extract"] },
          { anchorDir: anchors, fileName: "orygate.crt", update: ["update-ca-certificates"] },
        ],
      });
      assert.deepEqual(steps, [
        { name: "NSS database (Chrome, Chromium)", command: nss(`${home}/.pki/nssdb`) },
        { name: "Firefox profile abc.default", command: nss(`${profiles}/abc.default`) },
        {
          name: "system trust store (update-ca-certificates)",
          command: `sudo cp '${caFile}' ${anchors}/orygate.crt && sudo update-ca-certificates`,
        },
      ]);
    });
    await t.step("Linux without a known anchor directory: p11-kit's trust anchor", async () => {
      const steps = await manualTrustSteps(caFile, {
        os: "linux",
        env: { HOME: home },
        stores: ["system"],
        linuxSystemStores: [],
      });
      assert.deepEqual(steps, [
        { name: "system trust store (p11-kit)", command: `sudo trust anchor --store '${caFile}'` },
      ]);
    });
    await t.step("macOS: Firefox profiles and the System keychain", async () => {
      const steps = await manualTrustSteps(caFile, {
        os: "darwin",
        env: { HOME: home },
        firefoxProfileRoots: [profiles],
      });
      assert.deepEqual(steps.map((s) => s.name), ["Firefox profile abc.default", "macOS keychain"]);
      assert.equal(
        steps[1].command,
        `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain '${caFile}'`,
      );
    });
    await t.step("Windows: the ROOT store", async () => {
      const steps = await manualTrustSteps("C:\\Users\\Ada Lovelace\\ca.pem", {
        os: "windows",
        env: { USERPROFILE: "C:\\Users\\Ada Lovelace" },
      });
      assert.deepEqual(steps, [{
        name: "Windows root store",
        command:
          'certutil -addstore -f ROOT "C:\\Users\\Ada Lovelace\\ca.pem" (in a Command Prompt run as administrator)',
      }]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
