/**
 * Shared pieces of the end-to-end journeys: real Ory Kratos, the example app, the real
 * orygate CLI and Debian's Chromium driven by playwright-core. Nothing here skips: a missing
 * browser or a Kratos that cannot start fails the test with its log.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { createApp } from "../../examples/app/app.ts";
import { createSessionVerifier } from "../../examples/app/session.ts";
import {
  type KratosServer,
  startKratos,
  type StartKratosOptions,
} from "../../scripts/kratos/start.ts";
import { type CliProcess, freePort, startCli } from "../_support/cli.ts";

export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../../test-artifacts/e2e/", import.meta.url).pathname;

/** Launches Chromium headless with the flags this machine needs (`env`: e.g. another HOME). */
export async function launchBrowser(
  options: { env?: Record<string, string> } = {},
): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    env: options.env,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Takes numbered screenshots of a journey into test-artifacts/e2e/<journey>/. */
export async function screenshots(
  journey: string,
): Promise<(page: Page, step: string) => Promise<void>> {
  const dir = `${ARTIFACTS}${journey}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  let n = 0;
  return async (page, step) => {
    await page.screenshot({
      path: `${dir}/${String(++n).padStart(2, "0")}-${step}.png`,
      fullPage: true,
    });
  };
}

export { startKratos };

/** What {@link startProxyStack} started. */
export interface ProxyStack {
  /** orygate's publish URL, `http://localhost:<port>`. */
  publish: string;
  /** `<publish>/.ory` */
  oryUrl: string;
  kratos: KratosServer;
  proxy: CliProcess;
  /** orygate's and Kratos's output, for a failed journey. */
  logs(): Promise<string>;
  /** Stops orygate, the app and Kratos (close the browser first: the app waits for its connections). */
  stop(): Promise<void>;
}

/**
 * Kratos, the example app (trusting orygate's JWT) and `orygate proxy <app> <publish>
 * --sdk-url <kratos> --protect-path-prefix /members <flags>` on a free port.
 */
export async function startProxyStack(
  options: { kratos?: Partial<StartKratosOptions>; flags?: string[] } = {},
): Promise<ProxyStack> {
  const proxyPort = freePort();
  const publish = `http://localhost:${proxyPort}`;
  const kratos = await startKratos({ ...options.kratos, publishUrl: publish });
  const oryUrl = `${publish}/.ory`;
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createApp({ oryUrl, verify: createSessionVerifier(`${oryUrl}/jwks.json`) }),
  );
  let proxy: CliProcess;
  try {
    proxy = await startCli([
      "proxy",
      `http://127.0.0.1:${app.addr.port}`,
      publish,
      "--sdk-url",
      kratos.publicUrl,
      "--protect-path-prefix",
      "/members",
      ...options.flags ?? [],
    ], { port: proxyPort });
  } catch (error) {
    await app.shutdown();
    await kratos.stop();
    throw error;
  }
  return {
    publish,
    oryUrl,
    kratos,
    proxy,
    logs: async () =>
      `--- orygate ---\n${proxy.output()}\n--- kratos ---\n${await kratos.readLog()}`,
    async stop() {
      await proxy.stop();
      await app.shutdown();
      await kratos.stop();
    },
  };
}

/** The browser's cookies for `url`, as a `Cookie` header (to fetch flows as the browser would). */
export async function cookieHeader(page: Page, url: string): Promise<string> {
  return (await page.context().cookies(url)).map((c) => `${c.name}=${c.value}`).join("; ");
}

/** Fails with a message naming the step. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`journey: ${message}`);
}
