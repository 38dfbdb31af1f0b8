import assert from "node:assert/strict";
import { loadOrCreateLocalCa } from "../../src/tls/local_ca.ts";
import { prepareLocalTls } from "../../src/tls/local_tls.ts";
import type { CommandRunner } from "../../src/tls/command_runner.ts";
import { opensslOk } from "../_support/openssl.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Speaks HTTP/1.1 over TLS to 127.0.0.1:`port`, verifying the server as `serverName`. */
async function getOverTls(port: number, serverName: string, caCerts: string[]): Promise<string> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await Deno.startTls(tcp, { hostname: serverName, caCerts });
  try {
    await conn.handshake();
    await conn.write(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: ${serverName}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("prepareLocalTls() serves HTTPS that only clients trusting the local CA accept", async (t) => {
  await withTempDir(async (dir) => {
    const tls = await prepareLocalTls({ dir: `${dir}/ca`, installCert: false });
    assert.equal(tls.caFile, `${dir}/ca/ca.pem`);
    assert.equal(tls.report, undefined);
    const caPem = await Deno.readTextFile(tls.caFile);
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", cert: tls.cert, key: tls.key, onListen() {} },
      () => new Response("hello over https"),
    );
    const port = server.addr.port;
    try {
      await t.step("a client trusting the CA reaches it as localhost", async () => {
        const response = await getOverTls(port, "localhost", [caPem]);
        assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(response, /hello over https$/);
      });

      await t.step("fetch trusting the CA reaches it as 127.0.0.1", async () => {
        const client = Deno.createHttpClient({ caCerts: [caPem] });
        try {
          const response = await fetch(`https://127.0.0.1:${port}/`, { client });
          assert.equal(response.status, 200);
          assert.equal(await response.text(), "hello over https");
        } finally {
          client.close();
        }
      });

      await t.step("fetch that does not trust the CA is refused", async () => {
        const client = Deno.createHttpClient({});
        try {
          await assert.rejects(
            () => fetch(`https://127.0.0.1:${port}/`, { client }),
            (error: Error) => /invalid peer certificate: UnknownIssuer/.test(String(error.cause)),
          );
        } finally {
          client.close();
        }
      });

      await t.step("a client trusting only another CA fails the handshake", async () => {
        const other = await loadOrCreateLocalCa(`${dir}/other`);
        await assert.rejects(() => getOverTls(port, "localhost", [other.certPem]), {
          name: "InvalidData",
          message: /invalid peer certificate/,
        });
      });

      await t.step("a name the certificate does not cover fails the handshake", async () => {
        await assert.rejects(() => getOverTls(port, "example.com", [caPem]), {
          name: "InvalidData",
          message: /certificate not valid for name "example\.com"/,
        });
      });
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("prepareLocalTls() keeps one CA and issues a fresh leaf each start", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const first = await prepareLocalTls({ dir, installCert: false, log: (l) => lines.push(l) });
    const caPem = await Deno.readTextFile(first.caFile!);
    const second = await prepareLocalTls({ dir, installCert: false, log: (l) => lines.push(l) });
    assert.equal(await Deno.readTextFile(second.caFile!), caPem);
    assert.notEqual(second.key, first.key);
    assert.ok(second.cert.endsWith(caPem), "the chain ends with the CA");
    assert.deepEqual(lines.filter((l) => l.startsWith("Created")), [
      `Created a local certificate authority in ${dir}`,
    ]);
  });
});

Deno.test("prepareLocalTls() without installing says how to trust the CA by hand", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const anchors = `${dir}/anchors`;
    await Deno.mkdir(anchors);
    const tls = await prepareLocalTls({
      dir: `${dir}/ca`,
      installCert: false,
      os: "linux",
      env: { HOME: `${dir}/home` },
      trust: {
        firefoxProfileRoots: [],
        linuxSystemStores: [
          { anchorDir: anchors, fileName: "orygate.crt", update: ["update-ca-certificates"] },
        ],
      },
      log: (l) => lines.push(l),
    });
    const ca = `${dir}/ca/ca.pem`;
    const db = `sql:${dir}/home/.pki/nssdb`;
    assert.deepEqual(lines, [
      `Created a local certificate authority in ${dir}/ca`,
      `The local CA was not added to any trust store (--dont-install-cert): ${ca}`,
      "To trust it by hand, run the line for each store you use:",
      `  NSS database (Chrome, Chromium):\n    mkdir -p ${dir}/home/.pki/nssdb && certutil -d ${db} -N --empty-password && certutil -d ${db} -A -t C,, -n 'orygate local development CA' -i ${ca}`,
      `  system trust store (update-ca-certificates):\n    sudo cp ${ca} ${anchors}/orygate.crt && sudo update-ca-certificates`,
    ]);
    assert.equal(tls.report, undefined);
  });
});

Deno.test("prepareLocalTls() gives the CA's SHA-256 fingerprint as openssl does", async () => {
  await withTempDir(async (dir) => {
    const tls = await prepareLocalTls({ dir, installCert: false });
    const out = await opensslOk(["x509", "-in", tls.caFile!, "-noout", "-fingerprint", "-sha256"]);
    assert.equal(
      `sha256 Fingerprint=${tls.caFingerprint}`,
      out.trim().replace(/^SHA256/i, "sha256"),
    );
  });
});

Deno.test("prepareLocalTls() finds the default directory from the environment", async () => {
  await withTempDir(async (dir) => {
    const tls = await prepareLocalTls({
      installCert: false,
      env: { XDG_CONFIG_HOME: dir, HOME: "/nonexistent" },
      os: "linux",
    });
    assert.equal(tls.caFile, `${dir}/orygate/ca.pem`);
  });
});

Deno.test("prepareLocalTls() installs the CA and logs the report when asked", async (t) => {
  await withTempDir(async (dir) => {
    const calls: string[][] = [];
    const run: CommandRunner = (cmd, args) => {
      calls.push([cmd, ...args]);
      return Promise.resolve({ code: args.includes("-L") ? 255 : 0, stdout: "", stderr: "" });
    };
    const lines: string[] = [];

    await t.step("installCert: true runs the injected runner against the NSS db", async () => {
      const tls = await prepareLocalTls({
        dir: `${dir}/ca`,
        installCert: true,
        nssDbDir: `${dir}/nssdb`,
        run,
        log: (line) => lines.push(line),
        trust: { stores: ["nss"] },
      });
      assert.deepEqual(tls.report?.results.map((r) => r.status), ["installed"]);
      assert.deepEqual(calls.map((c) => c[3]), ["-N", "-L", "-A"]);
      assert.ok(calls.every((c) => c[2] === `sql:${dir}/nssdb`));
      assert.deepEqual(lines, [
        `Created a local certificate authority in ${dir}/ca`,
        `✓ NSS database (Chrome, Chromium) (${dir}/nssdb): installed`,
      ]);
    });

    await t.step("installCert: false runs nothing", async () => {
      calls.length = 0;
      const tls = await prepareLocalTls({ dir: `${dir}/ca`, installCert: false, run });
      assert.equal(tls.report, undefined);
      assert.equal(calls.length, 0);
    });
  });
});

Deno.test("prepareLocalTls() serves --tls-cert and --tls-key as given", async (t) => {
  await withTempDir(async (dir) => {
    const ca = await loadOrCreateLocalCa(`${dir}/ca`);
    const certFile = `${dir}/cert.pem`;
    const keyFile = `${dir}/key.pem`;
    await Deno.writeTextFile(certFile, ca.certPem);
    await Deno.writeTextFile(keyFile, await Deno.readTextFile(ca.keyFile));

    await t.step("the files' contents come back unchanged, with no CA work", async () => {
      const run: CommandRunner = () => Promise.reject(new Error("must not run"));
      const tls = await prepareLocalTls({ installCert: true, certFile, keyFile, run });
      assert.equal(tls.cert, ca.certPem);
      assert.equal(tls.key, await Deno.readTextFile(ca.keyFile));
      assert.equal(tls.caFile, undefined);
      assert.equal(tls.report, undefined);
    });

    await t.step("a missing file is a ConfigError naming the flag", async () => {
      await assert.rejects(
        () => prepareLocalTls({ installCert: false, certFile: `${dir}/nope.pem`, keyFile }),
        { name: "ConfigError", message: `Cannot read --tls-cert ${dir}/nope.pem: no such file` },
      );
      await assert.rejects(
        () => prepareLocalTls({ installCert: false, certFile, keyFile: `${dir}/nope.pem` }),
        { name: "ConfigError", message: `Cannot read --tls-key ${dir}/nope.pem: no such file` },
      );
    });

    await t.step("a directory instead of a file is a ConfigError", async () => {
      await assert.rejects(
        () => prepareLocalTls({ installCert: false, certFile: dir, keyFile }),
        { name: "ConfigError", message: /^Cannot read --tls-cert / },
      );
    });

    await t.step("one flag without the other is a ConfigError", async () => {
      await assert.rejects(() => prepareLocalTls({ installCert: false, certFile }), {
        name: "ConfigError",
        message: "Cannot use --tls-cert without --tls-key: give both or neither",
      });
      await assert.rejects(() => prepareLocalTls({ installCert: false, keyFile }), {
        name: "ConfigError",
        message: "Cannot use --tls-key without --tls-cert: give both or neither",
      });
    });

    await t.step("files that are not PEM are a ConfigError", async () => {
      await assert.rejects(
        () => prepareLocalTls({ installCert: false, certFile: keyFile, keyFile }),
        {
          name: "ConfigError",
          message: `Cannot use --tls-cert ${keyFile}: it holds no PEM certificate`,
        },
      );
      await assert.rejects(
        () => prepareLocalTls({ installCert: false, certFile, keyFile: certFile }),
        {
          name: "ConfigError",
          message: `Cannot use --tls-key ${certFile}: it holds no PEM private key`,
        },
      );
    });
  });
});
