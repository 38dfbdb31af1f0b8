/**
 * Soak test: mixed traffic through the real CLI (anonymous requests, requests with a session,
 * uploads, server-sent events, clients that abort) for a bounded time on loopback, sampling the
 * proxy's RSS and open file descriptors. `deno task soak` runs 10 minutes and prints a table;
 * the test suite runs the same code for 30 seconds.
 *
 * Usage: deno run -A scripts/soak.ts [--seconds 600]
 *
 * @module
 */
import { startCli } from "../tests/_support/cli.ts";
import { startFakeOry } from "../tests/_support/fake_ory.ts";
import { startTestApp } from "../tests/_support/test_app.ts";

/** What one soak run observed. */
export interface SoakResult {
  readonly seconds: number;
  readonly requests: Record<string, { ok: number; failed: number }>;
  /** Unexpected failures, with reasons (aborts we cause ourselves are not failures). */
  readonly failures: string[];
  /** [seconds since start, RSS MiB, open fds] after warm-up, every sample. */
  readonly samples: [number, number, number][];
  readonly rssGrowthMiB: number;
  readonly fdGrowth: number;
}

function sample(pid: number): [number, number] {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  let fds = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) fds++;
  return [rss, fds];
}

/** Runs mixed traffic for `seconds` with a few concurrent workers per kind. */
export async function runSoak(
  options: { seconds: number; log?: (line: string) => void },
): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const app = startTestApp();
  const ory = startFakeOry();
  ory.sessions.set("soak", { id: "s", identityId: "id-soak", email: "soak@example.com" });
  const proxy = await startCli([
    "proxy",
    app.origin,
    "--sdk-url",
    ory.origin,
    "--quiet",
    "--protect-path-prefix",
    "/members",
  ]);
  const base = proxy.url;
  const requests: SoakResult["requests"] = {};
  const failures: string[] = [];
  const count = (kind: string, ok: boolean, why?: string) => {
    const r = (requests[kind] ??= { ok: 0, failed: 0 });
    if (ok) r.ok++;
    else {
      r.failed++;
      if (failures.length < 50) failures.push(`${kind}: ${why}`);
    }
  };
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const expect = async (kind: string, run: () => Promise<boolean>) => {
    try {
      count(kind, await run(), "unexpected answer");
    } catch (err) {
      count(kind, false, (err as Error).message);
    }
  };
  const kinds: Record<string, () => Promise<boolean>> = {
    anonymous: async () => {
      const res = await fetch(`${base}/echo?x=1`);
      const body = await res.json();
      return res.status === 200 && !("authorization" in body.headers);
    },
    session: async () => {
      const res = await fetch(`${base}/members`, {
        headers: { cookie: "ory_kratos_session=soak" },
      });
      const body = await res.json();
      return res.status === 200 && String(body.headers.authorization).startsWith("Bearer ey");
    },
    protected_anonymous: async () => {
      const res = await fetch(`${base}/members`, { headers: { accept: "application/json" } });
      await res.body?.cancel();
      return res.status === 401;
    },
    upload: async () => {
      const res = await fetch(`${base}/upload`, {
        method: "POST",
        body: new Uint8Array(1024 * 1024),
      });
      const body = await res.json();
      return body.bytes === 1024 * 1024 && body.complete === true;
    },
    sse: async () => {
      const res = await fetch(`${base}/sse?events=3&interval=50`);
      const text = await res.text();
      return (text.match(/^data:/gm) ?? []).length === 3;
    },
    aborted_download: async () => {
      const controller = new AbortController();
      const res = await fetch(`${base}/download?bytes=${16 * 1024 * 1024}`, {
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.closed.catch(() => {});
      return res.status === 200;
    },
    ory: async () => {
      const res = await fetch(`${base}/.ory/self-service/login/flows?id=abc`, {
        headers: { "accept-encoding": "gzip" },
      });
      const body = await res.json();
      return String(body.ui.action).startsWith(`${base}/.ory/`);
    },
  };
  const samples: [number, number, number][] = [];
  const warmup = Math.min(5, options.seconds / 6) * 1000;
  const sampler = setInterval(() => {
    const t = Date.now() - started;
    if (t < warmup) return;
    const [rss, fds] = sample(proxy.pid);
    samples.push([Math.round(t / 1000), Math.round(rss), fds]);
  }, Math.max(1000, options.seconds * 1000 / 60));
  const workers = Object.entries(kinds).flatMap(([kind, run]) =>
    Array.from({ length: kind === "anonymous" || kind === "session" ? 4 : 2 }, async () => {
      while (Date.now() < deadline) await expect(kind, run);
    })
  );
  await Promise.all(workers);
  clearInterval(sampler);
  // Let pooled and aborted connections settle before the last sample.
  await new Promise((r) => setTimeout(r, 1500));
  const [rss, fds] = sample(proxy.pid);
  samples.push([Math.round((Date.now() - started) / 1000), Math.round(rss), fds]);
  const exited = await proxy.stop();
  if (exited !== 0) failures.push(`proxy exited with ${exited}`);
  if (/internal error/.test(proxy.output())) failures.push("internal error logged");
  await app.close();
  await ory.close();
  const first = samples[0] ?? [0, rss, fds];
  const result: SoakResult = {
    seconds: options.seconds,
    requests,
    failures,
    samples,
    rssGrowthMiB: rss - first[1],
    fdGrowth: fds - first[2],
  };
  log(formatSoak(result));
  return result;
}

/** A Markdown table of a soak run. */
export function formatSoak(r: SoakResult): string {
  const lines = [
    `soak: ${r.seconds} s of mixed traffic on loopback`,
    "",
    "| traffic | ok | failed |",
    "| --- | ---: | ---: |",
    ...Object.entries(r.requests).map(([k, v]) => `| ${k} | ${v.ok} | ${v.failed} |`),
    "",
    `RSS after warm-up ${r.samples[0]?.[1]} MiB → end ${r.samples.at(-1)?.[1]} MiB (growth ${
      r.rssGrowthMiB.toFixed(0)
    } MiB, max ${Math.max(...r.samples.map((s) => s[1]))} MiB); open fds ${r.samples[0]?.[2]} → ${
      r.samples.at(-1)?.[2]
    }`,
    r.failures.length ? `failures:\n  ${r.failures.join("\n  ")}` : "failures: none",
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--seconds");
  const seconds = i >= 0 ? Number(Deno.args[i + 1]) : 600;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`soak: --seconds must be a positive number`);
    Deno.exit(2);
  }
  const result = await runSoak({ seconds, log: console.log });
  Deno.exit(result.failures.length === 0 ? 0 : 1);
}
