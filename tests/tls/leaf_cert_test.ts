import assert from "node:assert/strict";
import {
  issueLeafCertificate,
  LOCALHOST_NAMES,
  MAX_LEAF_VALIDITY_DAYS,
} from "../../src/tls/leaf_cert.ts";
import { loadOrCreateLocalCa, type LocalCa } from "../../src/tls/local_ca.ts";
import { openssl } from "../_support/openssl.ts";

const DAY_MS = 86_400_000;

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? [];
}

async function withCa(fn: (ca: LocalCa, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(await loadOrCreateLocalCa(dir, { hostname: "devbox" }), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("issueLeafCertificate() makes a localhost server certificate the CA vouches for", async (t) => {
  await withCa(async (ca, dir) => {
    const now = new Date();
    const leaf = await issueLeafCertificate(ca, { now: () => now });
    const [leafPem, chainCa] = pemBlocks(leaf.cert);
    await Deno.writeTextFile(`${dir}/leaf.pem`, leafPem);
    const text = (await openssl(["x509", "-noout", "-text"], leafPem)).out;

    await t.step("the chain is the leaf then the CA", () => {
      assert.equal(pemBlocks(leaf.cert).length, 2);
      assert.equal(chainCa, ca.certPem);
    });
    await t.step("openssl verifies it against the CA for TLS server use", async () => {
      const result = await openssl([
        "verify",
        "-CAfile",
        ca.certFile,
        "-purpose",
        "sslserver",
        `${dir}/leaf.pem`,
      ]);
      assert.equal(result.code, 0, result.out);
      assert.match(result.out, /leaf\.pem: OK/);
    });
    await t.step("openssl does not verify it against another CA", async () => {
      const other = await loadOrCreateLocalCa(`${dir}/other`);
      const result = await openssl(["verify", "-CAfile", other.certFile, `${dir}/leaf.pem`]);
      assert.notEqual(result.code, 0);
    });
    await t.step("the SANs are DNS localhost, IP 127.0.0.1 and IP ::1", async () => {
      assert.match(
        text,
        /X509v3 Subject Alternative Name: \s*DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\s/,
      );
      for (
        const [flag, value] of [["-checkhost", "localhost"], ["-checkip", "127.0.0.1"], [
          "-checkip",
          "::1",
        ]]
      ) {
        const checked = await openssl(["x509", "-noout", flag, value], leafPem);
        assert.match(checked.out, /does match certificate/);
        assert.doesNotMatch(checked.out, /does NOT match/);
      }
    });
    await t.step("it is an end entity for serverAuth, signed with ECDSA", () => {
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\s/);
      assert.match(text, /X509v3 Extended Key Usage: \s*TLS Web Server Authentication\s/);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(text, /Issuer: O ?= ?orygate, CN ?= ?orygate local development CA \(devbox\)/);
    });
    await t.step(`it is valid now and for at most ${MAX_LEAF_VALIDITY_DAYS} days`, () => {
      const days = (leaf.notAfter.getTime() - now.getTime()) / DAY_MS;
      assert.equal(days, MAX_LEAF_VALIDITY_DAYS);
      const notBefore = /Not Before: (.*)\n/.exec(text)?.[1] ?? "";
      const notAfter = /Not After : (.*)\n/.exec(text)?.[1] ?? "";
      const span = (Date.parse(notAfter) - Date.parse(notBefore)) / DAY_MS;
      assert.ok(span < 398, `span ${span} days`);
      assert.ok(Date.parse(notBefore) <= now.getTime());
    });
    await t.step("the key is PKCS#8 and matches the certificate", async () => {
      assert.match(leaf.key, /^-----BEGIN PRIVATE KEY-----\n/);
      const fromKey = (await openssl(["pkey", "-pubout"], leaf.key)).out;
      const fromCert = (await openssl(["x509", "-noout", "-pubkey"], leafPem)).out;
      assert.equal(fromKey, fromCert);
    });
    await t.step("every call makes a new key and serial", async () => {
      const again = await issueLeafCertificate(ca);
      assert.notEqual(again.key, leaf.key);
      assert.notEqual(again.serialHex, leaf.serialHex);
    });
  });
});

Deno.test("issueLeafCertificate() never outlives its CA", async () => {
  await withCa(async (ca) => {
    const caEnd = new Date(Date.now() + 5 * DAY_MS);
    const leaf = await issueLeafCertificate({ ...ca, notAfter: caEnd });
    assert.equal(leaf.notAfter.getTime(), caEnd.getTime());
  });
});

Deno.test("issueLeafCertificate() covers the hosts it is given", async (t) => {
  await withCa(async (ca) => {
    await t.step("names and addresses, brackets and case normalised", async () => {
      const leaf = await issueLeafCertificate(ca, {
        hosts: ["App.Localhost", "*.app.localhost", "10.0.0.7", "[fe80::1:2]", "2001:db8::"],
      });
      const text = (await openssl(["x509", "-noout", "-ext", "subjectAltName"], leaf.cert)).out;
      assert.match(
        text,
        /DNS:app\.localhost, DNS:\*\.app\.localhost, IP Address:10\.0\.0\.7, IP Address:FE80:0:0:0:0:0:1:2, IP Address:2001:DB8:0:0:0:0:0:0/i,
      );
    });
    await t.step("the default list is localhost and both loopbacks", () => {
      assert.deepEqual(LOCALHOST_NAMES, ["localhost", "127.0.0.1", "::1"]);
    });
    await t.step("something that is neither a name nor an address is a ConfigError", async () => {
      for (const host of ["exa mple", "1::2::3", "bad_-", ""]) {
        await assert.rejects(() => issueLeafCertificate(ca, { hosts: [host] }), {
          name: "ConfigError",
          message: /^Cannot issue a certificate for ".*": not a host name or IP address$/,
        });
      }
    });
    await t.step("no host at all is a ConfigError", async () => {
      await assert.rejects(() => issueLeafCertificate(ca, { hosts: [] }), {
        name: "ConfigError",
      });
    });
    await t.step("a validity past the browser limit is a ConfigError", async () => {
      await assert.rejects(() => issueLeafCertificate(ca, { validityDays: 398 }), {
        name: "ConfigError",
        message: /use 1 to 397/,
      });
    });
  });
});
