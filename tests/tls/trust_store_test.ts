import assert from "node:assert/strict";
import { loadOrCreateLocalCa } from "../../src/tls/local_ca.ts";
import {
  type CommandResult,
  type CommandRunner,
  runCommand,
} from "../../src/tls/command_runner.ts";
import { DEFAULT_NICKNAME, type LinuxSystemStore } from "../../src/tls/trust_locations.ts";
import {
  installCaCertificate,
  type TrustReport,
  trustReportLines,
} from "../../src/tls/trust_store.ts";
import { CERTUTIL, requireTool } from "../../scripts/_required_tools.ts";

type Call = [string, ...string[]];

/** A fake runner: records every call and answers through `answer` (default: exit 0). */
function fakeRunner(
  answer: (call: Call) => Partial<CommandResult> | Error = () => ({}),
): CommandRunner & { calls: Call[] } {
  const calls: Call[] = [];
  const run = (cmd: string, args: readonly string[]) => {
    const call: Call = [cmd, ...args];
    calls.push(call);
    const result = answer(call);
    if (result instanceof Error) return Promise.reject(result);
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...result });
  };
  return Object.assign(run, { calls });
}

/** True when the call is `certutil ... <flag> ...`. */
const certutil = (call: Call, flag: string) => call[0] === "certutil" && call.includes(flag);

async function withCaFixture(
  fn: (fx: { dir: string; caFile: string; caPem: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const ca = await loadOrCreateLocalCa(`${dir}/ca`);
    await fn({ dir, caFile: ca.certFile, caPem: ca.certPem });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("installCaCertificate() puts the CA into a shared NSS database", async (t) => {
  await withCaFixture(async ({ dir, caFile, caPem }) => {
    const nssDbDir = `${dir}/nssdb`;
    const only = { stores: ["nss"] as const, nssDbDir };

    await t.step("creates a missing database, then adds the CA as a trusted CA", async () => {
      const run = fakeRunner((call) => certutil(call, "-L") ? { code: 255 } : {});
      const report = await installCaCertificate(caFile, { ...only, run });
      assert.deepEqual(run.calls, [
        ["certutil", "-d", `sql:${nssDbDir}`, "-N", "--empty-password"],
        ["certutil", "-d", `sql:${nssDbDir}`, "-L", "-n", DEFAULT_NICKNAME, "-a"],
        [
          "certutil",
          "-d",
          `sql:${nssDbDir}`,
          "-A",
          "-t",
          "C,,",
          "-n",
          DEFAULT_NICKNAME,
          "-i",
          caFile,
        ],
      ]);
      assert.deepEqual(report.results, [{
        kind: "nss",
        name: "NSS database (Chrome, Chromium)",
        location: nssDbDir,
        status: "installed",
        reason: undefined,
      }]);
      assert.equal((await Deno.stat(nssDbDir)).isDirectory, true);
    });

    await t.step("does nothing when the nickname already holds this CA", async () => {
      await Deno.writeTextFile(`${nssDbDir}/cert9.db`, "");
      const run = fakeRunner((call) => certutil(call, "-L") ? { stdout: caPem } : {});
      const report = await installCaCertificate(caFile, { ...only, run });
      assert.deepEqual(run.calls.map((c) => c[3]), ["-L"]);
      assert.equal(report.results[0].status, "already-installed");
    });

    await t.step("replaces an older orygate CA kept under the nickname", async () => {
      const older = await loadOrCreateLocalCa(`${dir}/older`);
      let listed = 0;
      const run = fakeRunner((call) => {
        if (certutil(call, "-L")) return { stdout: older.certPem };
        if (certutil(call, "-D")) return { code: listed++ === 0 ? 0 : 255 };
        return {};
      });
      const report = await installCaCertificate(caFile, { ...only, run });
      assert.deepEqual(run.calls.map((c) => c[3]), ["-L", "-D", "-D", "-A"]);
      assert.equal(report.results[0].status, "installed");
      assert.equal(report.results[0].reason, "replaced an older orygate CA");
    });

    await t.step("reports a failing certutil with its message and the manual command", async () => {
      const run = fakeRunner((call) => {
        if (certutil(call, "-L")) return { code: 255 };
        if (certutil(call, "-A")) return { code: 255, stderr: "SEC_ERROR_READ_ONLY\nmore" };
        return {};
      });
      const [result] = (await installCaCertificate(caFile, { ...only, run })).results;
      assert.equal(result.status, "failed");
      assert.equal(result.reason, "certutil -A exited with 255: SEC_ERROR_READ_ONLY");
      assert.equal(
        result.manualCommand,
        `certutil -d sql:${nssDbDir} -A -t C,, -n 'orygate local development CA' -i ${caFile}`,
      );
    });
  });
});

Deno.test("installCaCertificate() installs into every Firefox profile it finds", async (t) => {
  await withCaFixture(async ({ dir, caFile }) => {
    const root = `${dir}/firefox`;
    for (const [profile, db] of [["b.default", "cert9.db"], ["a.work", "cert9.db"]]) {
      await Deno.mkdir(`${root}/${profile}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${profile}/${db}`, "");
    }
    await Deno.mkdir(`${root}/c.ancient`);
    await Deno.writeTextFile(`${root}/c.ancient/cert8.db`, "");
    await Deno.mkdir(`${root}/Crash Reports`);
    const options = { stores: ["firefox"] as const, firefoxProfileRoots: [root, `${dir}/none`] };

    await t.step("each profile with cert9.db is a store; cert8.db is skipped", async () => {
      const run = fakeRunner((call) => certutil(call, "-L") ? { code: 255 } : {});
      const report = await installCaCertificate(caFile, { ...options, run });
      assert.deepEqual(
        report.results.map((r) => [r.name, r.status]),
        [
          ["Firefox profile a.work", "installed"],
          ["Firefox profile b.default", "installed"],
          ["Firefox profile c.ancient", "skipped"],
        ],
      );
      assert.ok(run.calls.every((c) => !c.includes("-N")), "never creates a Firefox database");
      assert.deepEqual(
        run.calls.filter((c) => c.includes("-A")).map((c) => c[2]),
        [`sql:${root}/a.work`, `sql:${root}/b.default`],
      );
    });

    await t.step(
      "without certutil every NSS store is skipped, certutil looked for once",
      async () => {
        const run = fakeRunner(() => new Deno.errors.NotFound("certutil"));
        const report = await installCaCertificate(caFile, {
          ...options,
          stores: ["nss", "firefox"],
          nssDbDir: `${dir}/nssdb`,
          run,
        });
        assert.equal(run.calls.length, 1);
        assert.deepEqual(
          report.results.map((r) => [r.kind, r.status]),
          [["nss", "skipped"], ["firefox", "skipped"], ["firefox", "skipped"], [
            "firefox",
            "skipped",
          ]],
        );
        assert.match(report.results[0].reason ?? "", /certutil is not installed .*libnss3-tools/);
        assert.match(
          report.results[0].manualCommand ?? "",
          /^mkdir -p .*nssdb && certutil -d sql:.*nssdb -N --empty-password && certutil -d/,
        );
        assert.match(report.results[1].manualCommand ?? "", /certutil -d sql:.*a\.work -A/);
        await assert.rejects(() => Deno.stat(`${dir}/nssdb`), Deno.errors.NotFound);
      },
    );
  });
});

Deno.test("installCaCertificate() uses the Linux system store when root", async (t) => {
  await withCaFixture(async ({ dir, caFile, caPem }) => {
    const anchors = `${dir}/anchors`;
    await Deno.mkdir(anchors);
    const stores: LinuxSystemStore[] = [
      { anchorDir: `${dir}/absent`, fileName: "x.pem", update: ["update-ca-trust", "extract"] },
      { anchorDir: anchors, fileName: "orygate-local-ca.crt", update: ["update-ca-certificates"] },
    ];
    const options = {
      stores: ["system"] as const,
      os: "linux" as const,
      linuxSystemStores: stores,
    };

    await t.step("as a normal user it is skipped with the sudo commands", async () => {
      const run = fakeRunner();
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: false }))
        .results;
      assert.equal(result.status, "skipped");
      assert.equal(result.reason, "writing it needs root");
      assert.equal(
        result.manualCommand,
        `sudo cp ${caFile} ${anchors}/orygate-local-ca.crt && sudo update-ca-certificates`,
      );
      assert.equal(run.calls.length, 0);
    });

    await t.step("as root it copies the CA into the first existing store and updates", async () => {
      const run = fakeRunner();
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: true }))
        .results;
      assert.equal(result.status, "installed");
      assert.equal(result.name, "system trust store (update-ca-certificates)");
      assert.equal(await Deno.readTextFile(`${anchors}/orygate-local-ca.crt`), caPem);
      assert.deepEqual(run.calls, [["update-ca-certificates"]]);
    });

    await t.step("a second time it is already there and nothing runs", async () => {
      const run = fakeRunner();
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: true }))
        .results;
      assert.equal(result.status, "already-installed");
      assert.equal(run.calls.length, 0);
    });

    await t.step("a failing update is reported as failed", async () => {
      await Deno.remove(`${anchors}/orygate-local-ca.crt`);
      const run = fakeRunner(() => ({ code: 1, stderr: "boom" }));
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: true }))
        .results;
      assert.equal(result.status, "failed");
      assert.equal(result.reason, "update-ca-certificates exited with 1: boom");
    });

    await t.step("with no known store directory it is skipped", async () => {
      const [result] = (await installCaCertificate(caFile, {
        ...options,
        linuxSystemStores: [stores[0]],
        run: fakeRunner(),
        isRoot: true,
      })).results;
      assert.equal(result.status, "skipped");
      assert.equal(result.reason, "no known system trust store directory exists");
    });
  });
});

Deno.test("installCaCertificate() uses the macOS keychain", async (t) => {
  await withCaFixture(async ({ caFile }) => {
    const options = {
      stores: ["system"] as const,
      os: "darwin" as const,
      env: { HOME: "/Users/a" },
    };

    await t.step("a CA macOS already trusts is left alone", async () => {
      const run = fakeRunner();
      const [result] = (await installCaCertificate(caFile, { ...options, run })).results;
      assert.equal(result.status, "already-installed");
      assert.deepEqual(run.calls, [["security", "verify-cert", "-c", caFile]]);
    });

    await t.step("as root it goes into the System keychain for every user", async () => {
      const run = fakeRunner((call) => call[1] === "verify-cert" ? { code: 1 } : {});
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: true }))
        .results;
      assert.equal(result.status, "installed");
      assert.deepEqual(run.calls[1], [
        "security",
        "add-trusted-cert",
        "-d",
        "-r",
        "trustRoot",
        "-k",
        "/Library/Keychains/System.keychain",
        caFile,
      ]);
    });

    await t.step("as a user it goes into the login keychain; a refusal is reported", async () => {
      const run = fakeRunner((call) =>
        call[1] === "verify-cert" ? { code: 1 } : { code: 1, stderr: "authorization denied" }
      );
      const [result] = (await installCaCertificate(caFile, { ...options, run, isRoot: false }))
        .results;
      assert.deepEqual(run.calls[1], [
        "security",
        "add-trusted-cert",
        "-r",
        "trustRoot",
        "-k",
        "/Users/a/Library/Keychains/login.keychain-db",
        caFile,
      ]);
      assert.equal(result.status, "failed");
      assert.match(result.reason ?? "", /authorization denied/);
      assert.match(result.manualCommand ?? "", /^sudo security add-trusted-cert -d -r trustRoot/);
    });
  });
});

Deno.test("installCaCertificate() uses the Windows root store", async (t) => {
  await withCaFixture(async ({ caFile }) => {
    const options = { stores: ["system"] as const, os: "windows" as const, env: {} };

    await t.step("a CA already in ROOT (by thumbprint) is left alone", async () => {
      const run = fakeRunner();
      const [result] = (await installCaCertificate(caFile, { ...options, run })).results;
      assert.equal(result.status, "already-installed");
      assert.equal(run.calls[0][1], "-store");
      assert.match(run.calls[0][3], /^[0-9a-f]{40}$/);
    });

    await t.step("otherwise certutil -addstore -f ROOT adds it", async () => {
      const run = fakeRunner((call) => call[1] === "-store" ? { code: 1 } : {});
      const [result] = (await installCaCertificate(caFile, { ...options, run })).results;
      assert.equal(result.status, "installed");
      assert.deepEqual(run.calls[1], ["certutil", "-addstore", "-f", "ROOT", caFile]);
    });

    await t.step("without administrator rights it fails with the manual command", async () => {
      const run = fakeRunner(() => ({ code: 5, stdout: "Access is denied." }));
      const [result] = (await installCaCertificate(caFile, { ...options, run })).results;
      assert.equal(result.status, "failed");
      assert.match(result.reason ?? "", /Access is denied/);
      assert.match(result.manualCommand ?? "", /^certutil -addstore -f ROOT .* administrator/);
    });

    await t.step("NSS and Firefox are not looked for on Windows", async () => {
      const run = fakeRunner((call) => call[1] === "-store" ? { code: 1 } : {});
      const report = await installCaCertificate(caFile, { ...options, stores: undefined, run });
      assert.deepEqual(report.results.map((r) => r.kind), ["system"]);
    });
  });
});

Deno.test("installCaCertificate() refuses a CA file it cannot read", async () => {
  await assert.rejects(
    () => installCaCertificate("/nonexistent/ca.pem", { run: fakeRunner() }),
    { name: "ConfigError", message: /^Cannot read the CA certificate \/nonexistent\/ca\.pem: / },
  );
});

Deno.test("trustReportLines() says what was and was not installed, and how to finish", () => {
  const report: TrustReport = {
    caFile: "/c/ca.pem",
    nickname: DEFAULT_NICKNAME,
    results: [
      {
        kind: "nss",
        name: "NSS database (Chrome, Chromium)",
        location: "/h/.pki/nssdb",
        status: "installed",
      },
      {
        kind: "firefox",
        name: "Firefox profile x",
        location: "/h/ff/x",
        status: "already-installed",
      },
      {
        kind: "system",
        name: "system trust store (update-ca-certificates)",
        location: "/usr/local/share/ca-certificates/orygate-local-ca.crt",
        status: "skipped",
        reason: "writing it needs root",
        manualCommand: "sudo cp /c/ca.pem /usr/local/share/ca-certificates/orygate-local-ca.crt",
      },
    ],
  };
  assert.deepEqual(trustReportLines(report), [
    "✓ NSS database (Chrome, Chromium) (/h/.pki/nssdb): installed",
    "✓ Firefox profile x (/h/ff/x): already installed",
    "✗ system trust store (update-ca-certificates) " +
    "(/usr/local/share/ca-certificates/orygate-local-ca.crt): skipped: writing it needs root",
    "To trust the local CA there by hand, run:",
    "  sudo cp /c/ca.pem /usr/local/share/ca-certificates/orygate-local-ca.crt",
  ]);
  assert.deepEqual(trustReportLines({ ...report, results: [] }), [
    "No trust store found for /c/ca.pem",
  ]);
});

Deno.test({
  name: "installCaCertificate() with the real certutil: installs once, then is a no-op",
  fn: async () => {
    // Not ignored without certutil: the gate checks for it up front; here it fails in one line.
    await requireTool(CERTUTIL);
    await withCaFixture(async ({ dir, caFile, caPem }) => {
      const nssDbDir = `${dir}/home/.pki/nssdb`;
      const list = async (...extra: string[]) => {
        const result = await runCommand("certutil", ["-d", `sql:${nssDbDir}`, "-L", ...extra]);
        return result.stdout;
      };

      const first = await installCaCertificate(caFile, { stores: ["nss"], nssDbDir });
      assert.equal(first.results[0].status, "installed", JSON.stringify(first.results[0]));
      assert.match(await list(), /orygate local development CA\s+C,,\s/);
      assert.equal(
        (await list("-n", DEFAULT_NICKNAME, "-a")).replace(/\r/g, ""),
        caPem,
      );

      const second = await installCaCertificate(caFile, { stores: ["nss"], nssDbDir });
      assert.equal(second.results[0].status, "already-installed");
      assert.equal((await list()).match(/orygate local development CA/g)?.length, 1);

      const newer = await loadOrCreateLocalCa(`${dir}/newer`);
      const third = await installCaCertificate(newer.certFile, { stores: ["nss"], nssDbDir });
      assert.equal(third.results[0].status, "installed");
      assert.equal(third.results[0].reason, "replaced an older orygate CA");
      assert.equal(
        (await list("-n", DEFAULT_NICKNAME, "-a")).replace(/\r/g, ""),
        newer.certPem,
      );
    });
  },
});
