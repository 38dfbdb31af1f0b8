import assert from "node:assert/strict";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  defaultConfigDir,
  loadOrCreateLocalCa,
  randomSerial,
} from "../../src/tls/local_ca.ts";
import { opensslOk } from "../_support/openssl.ts";

const isWindows = Deno.build.os === "windows";

Deno.test("defaultConfigDir() follows each platform's convention", async (t) => {
  await t.step("Linux uses an absolute XDG_CONFIG_HOME", () => {
    assert.deepEqual(
      defaultConfigDir({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/ada" }, "linux"),
      "/xdg/orygate",
    );
  });
  await t.step("Linux ignores a relative XDG_CONFIG_HOME and falls back to ~/.config", () => {
    assert.deepEqual(
      defaultConfigDir({ XDG_CONFIG_HOME: "rel", HOME: "/home/ada" }, "linux"),
      "/home/ada/.config/orygate",
    );
  });
  await t.step("other Unixes behave like Linux", () => {
    assert.deepEqual(
      defaultConfigDir({ HOME: "/home/ada" }, "freebsd"),
      "/home/ada/.config/orygate",
    );
  });
  await t.step("macOS uses ~/Library/Application Support", () => {
    assert.deepEqual(
      defaultConfigDir({ HOME: "/Users/ada", XDG_CONFIG_HOME: "/xdg" }, "darwin"),
      "/Users/ada/Library/Application Support/orygate",
    );
  });
  await t.step("Windows uses %APPDATA%, else %USERPROFILE%\\AppData\\Roaming", () => {
    assert.deepEqual(
      defaultConfigDir({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }, "windows"),
      "C:\\Users\\ada\\AppData\\Roaming\\orygate",
    );
    assert.deepEqual(
      defaultConfigDir({ USERPROFILE: "C:\\Users\\ada" }, "windows"),
      "C:\\Users\\ada\\AppData\\Roaming\\orygate",
    );
  });
  await t.step("no usable variable is a ConfigError", () => {
    for (const os of ["linux", "darwin", "windows"] as const) {
      assert.throws(() => defaultConfigDir({}, os), {
        name: "ConfigError",
        message: /Cannot find a directory/,
      });
    }
  });
});

Deno.test("loadOrCreateLocalCa() creates the CA once and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadOrCreateLocalCa(`${dir}/ca`, { hostname: "devbox" });
    const second = await loadOrCreateLocalCa(`${dir}/ca`, { hostname: "devbox" });
    assert.ok(first.created);
    assert.deepEqual(second.created, false);
    assert.deepEqual(second.serialHex, first.serialHex);
    assert.deepEqual(second.certPem, first.certPem);
    assert.deepEqual(second.keyId, first.keyId);
    assert.deepEqual(second.certFile, `${dir}/ca/${CA_CERT_FILE}`);
    assert.deepEqual(await Deno.readTextFile(second.certFile), first.certPem);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "loadOrCreateLocalCa() keeps the key private: file 0600, new directory 0700",
  ignore: isWindows,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const ca = await loadOrCreateLocalCa(`${dir}/nested/ca`);
      assert.deepEqual((await Deno.stat(ca.keyFile)).mode! & 0o777, 0o600);
      assert.deepEqual((await Deno.stat(`${dir}/nested/ca`)).mode! & 0o777, 0o700);
      assert.deepEqual((await Deno.stat(ca.certFile)).mode! & 0o077 & 0o022, 0);
      const leftovers = [...Deno.readDirSync(`${dir}/nested/ca`)].map((e) => e.name).sort();
      assert.deepEqual(leftovers, [CA_KEY_FILE, CA_CERT_FILE].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("loadOrCreateLocalCa() writes a CA certificate openssl accepts", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const now = new Date();
    const ca = await loadOrCreateLocalCa(dir, { hostname: "devbox", now: () => now });
    const text = await opensslOk(["x509", "-noout", "-text"], ca.certPem);
    await t.step("named after the host", () => {
      assert.match(text, /Subject: O ?= ?orygate, CN ?= ?orygate local development CA \(devbox\)/);
    });
    await t.step("basicConstraints CA:TRUE is critical", () => {
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    });
    await t.step("keyUsage is keyCertSign and cRLSign, critical", () => {
      assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    });
    await t.step("ECDSA P-256 signed with SHA-256", () => {
      assert.match(text, /NIST CURVE: P-256/);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    });
    await t.step("valid for about ten years", () => {
      const days = (ca.notAfter.getTime() - now.getTime()) / 86_400_000;
      assert.ok(days > 3640 && days <= 3650, `validity ${days} days`);
    });
    await t.step("the key file is the PKCS#8 key of the certificate", async () => {
      const fromKey = await opensslOk(["pkey", "-in", ca.keyFile, "-pubout"]);
      const fromCert = await opensslOk(["x509", "-noout", "-pubkey"], ca.certPem);
      assert.deepEqual(fromKey, fromCert);
      assert.match(await Deno.readTextFile(ca.keyFile), /^-----BEGIN PRIVATE KEY-----\n/);
    });
    await t.step("self-signed: it verifies against itself", async () => {
      assert.match(await opensslOk(["verify", "-CAfile", ca.certFile, ca.certFile]), /: OK/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateLocalCa() replaces a CA it cannot use", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("one that expires within 30 days", async () => {
      const old = await loadOrCreateLocalCa(`${dir}/expiring`, {
        now: () => new Date(Date.now() - 3640 * 86_400_000),
      });
      const fresh = await loadOrCreateLocalCa(`${dir}/expiring`);
      assert.ok(fresh.created);
      assert.match(fresh.replacedBecause ?? "", /expires on/);
      assert.ok(fresh.serialHex !== old.serialHex);
    });
    await t.step("one whose certificate is not PEM", async () => {
      await loadOrCreateLocalCa(`${dir}/garbled`);
      await Deno.writeTextFile(`${dir}/garbled/${CA_CERT_FILE}`, "not a certificate");
      const fresh = await loadOrCreateLocalCa(`${dir}/garbled`);
      assert.ok(fresh.created);
      assert.match(fresh.replacedBecause ?? "", /holds no PEM certificate/);
    });
    await t.step("one whose certificate DER is broken", async () => {
      await loadOrCreateLocalCa(`${dir}/broken`);
      await Deno.writeTextFile(
        `${dir}/broken/${CA_CERT_FILE}`,
        "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n",
      );
      const fresh = await loadOrCreateLocalCa(`${dir}/broken`);
      assert.match(fresh.replacedBecause ?? "", /cannot be parsed/);
    });
    await t.step("one whose key belongs to another certificate", async () => {
      await loadOrCreateLocalCa(`${dir}/a`);
      await loadOrCreateLocalCa(`${dir}/b`);
      await Deno.copyFile(`${dir}/b/${CA_KEY_FILE}`, `${dir}/a/${CA_KEY_FILE}`);
      const fresh = await loadOrCreateLocalCa(`${dir}/a`);
      assert.match(fresh.replacedBecause ?? "", /does not belong/);
      const again = await loadOrCreateLocalCa(`${dir}/a`);
      assert.deepEqual(again.created, false);
      assert.deepEqual(again.serialHex, fresh.serialHex);
    });
    await t.step("one with only the certificate left", async () => {
      const old = await loadOrCreateLocalCa(`${dir}/half`);
      await Deno.remove(`${dir}/half/${CA_KEY_FILE}`);
      const fresh = await loadOrCreateLocalCa(`${dir}/half`);
      assert.ok(fresh.created);
      assert.ok(fresh.serialHex !== old.serialHex);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateLocalCa() reports a directory it cannot use as a ConfigError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(() => loadOrCreateLocalCa(`${dir}/file/ca`), {
      name: "ConfigError",
      message: /^Cannot (read|write) the local CA (in|to) .*\/file\/ca: /,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("randomSerial() is a positive 16-byte integer that differs each time", () => {
  const a = randomSerial();
  const b = randomSerial();
  assert.deepEqual(a.length, 16);
  assert.ok(a[0] > 0 && a[0] < 0x80);
  assert.ok(a.some((byte, i) => byte !== b[i]));
});
