/**
 * Everything `orygate proxy local` needs to serve HTTPS: either the certificate and key the user
 * named (`--tls-cert`, `--tls-key`), or a fresh `localhost` certificate from orygate's local CA,
 * with the CA installed into the trust stores unless that is turned off.
 *
 * @example
 * ```ts
 * import { prepareLocalTls } from "./local_tls.ts";
 * const dir = await Deno.makeTempDir();
 * const tls = await prepareLocalTls({ dir, installCert: false });
 * const server = Deno.serve(
 *   { port: 0, hostname: "127.0.0.1", cert: tls.cert, key: tls.key, onListen() {} },
 *   () => new Response("hello over https"),
 * );
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
import { ConfigError } from "../errors.ts";
import { fromPem, toHex } from "./_der.ts";
import { issueLeafCertificate, LOCALHOST_NAMES } from "./leaf_cert.ts";
import { defaultConfigDir, loadOrCreateLocalCa } from "./local_ca.ts";
import type { CommandRunner } from "./command_runner.ts";
import { manualTrustSteps } from "./manual_trust.ts";
import {
  installCaCertificate,
  type InstallCaOptions,
  type TrustReport,
  trustReportLines,
} from "./trust_store.ts";

/** Options of {@linkcode prepareLocalTls}. */
export interface LocalTlsOptions {
  /** Where the local CA lives; defaults to {@linkcode defaultConfigDir} of the environment. */
  dir?: string;
  /** Install the CA into the trust stores (`false` for `--dont-install-cert`). */
  installCert: boolean;
  /** `--tls-cert`: a PEM certificate (chain) to serve instead of a generated one. */
  certFile?: string;
  /** `--tls-key`: the PEM private key that goes with `certFile`. */
  keyFile?: string;
  /** The shared NSS database to install into (default: `~/.pki/nssdb` on Linux). */
  nssDbDir?: string;
  /** Runs the trust store tools; defaults to the real `Deno.Command` runner. */
  run?: CommandRunner;
  /** Receives progress lines meant for the user; defaults to discarding them. */
  log?: (line: string) => void;
  /** Further trust store settings (which stores, Firefox profile folders, …), mainly for tests. */
  trust?: Omit<InstallCaOptions, "run" | "nssDbDir">;
  /** Names the generated certificate covers; defaults to `localhost`, `127.0.0.1`, `::1`. */
  hosts?: readonly string[];
  /** Environment used to find the default directory; defaults to `Deno.env.toObject()`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Operating system used to find the default directory; defaults to `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** Clock; defaults to `() => new Date()`. */
  now?: () => Date;
}

/** The certificate and key to serve, plus what was done to get them. */
export interface LocalTls {
  /** PEM certificate chain for `Deno.serve({ cert })`. */
  cert: string;
  /** PEM private key for `Deno.serve({ key })`. */
  key: string;
  /** The local CA's certificate file, when the certificate came from the local CA. */
  caFile?: string;
  /** SHA-256 of the local CA certificate, colon-separated hex as `openssl x509 -fingerprint`. */
  caFingerprint?: string;
  /** The `--tls-cert` file, when the certificate was given. */
  certFile?: string;
  /** What the trust store installation did, when it ran. */
  report?: TrustReport;
}

/**
 * Prepares the certificate and key for `proxy local`. With `certFile` and `keyFile` it only reads
 * them (a {@linkcode ConfigError} names the flag when one cannot be read); otherwise it loads or
 * creates the local CA, issues a leaf for `localhost` and, when `installCert` is set, installs
 * the CA into the trust stores and logs what was and was not installed.
 *
 * @example
 * ```ts
 * import { prepareLocalTls } from "./local_tls.ts";
 * const dir = await Deno.makeTempDir();
 * const lines: string[] = [];
 * const tls = await prepareLocalTls({ dir, installCert: false, log: (l) => lines.push(l) });
 * tls.caFile === `${dir}/ca.pem`; // true on Linux and macOS
 * lines[0]; // "Created a local certificate authority in <dir>"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function prepareLocalTls(options: LocalTlsOptions): Promise<LocalTls> {
  const log = options.log ?? (() => {});
  if (options.certFile !== undefined || options.keyFile !== undefined) {
    return await readGivenFiles(options.certFile, options.keyFile);
  }
  const dir = options.dir ??
    defaultConfigDir(options.env ?? Deno.env.toObject(), options.os ?? Deno.build.os);
  const ca = await loadOrCreateLocalCa(dir, { now: options.now });
  if (ca.created) {
    log(
      `Created a local certificate authority in ${dir}` +
        (ca.replacedBecause ? ` (the previous one was unusable: ${ca.replacedBecause})` : ""),
    );
  }
  const leaf = await issueLeafCertificate(ca, {
    hosts: options.hosts ?? LOCALHOST_NAMES,
    now: options.now,
  });
  const served = {
    cert: leaf.cert,
    key: leaf.key,
    caFile: ca.certFile,
    caFingerprint: await certificateFingerprint(ca.certPem),
  };
  if (!options.installCert) {
    const steps = await manualTrustSteps(ca.certFile, {
      ...options.trust,
      nssDbDir: options.nssDbDir,
      os: options.trust?.os ?? options.os,
      env: options.trust?.env ?? options.env,
    });
    log(`The local CA was not added to any trust store (--dont-install-cert): ${ca.certFile}`);
    if (steps.length > 0) log("To trust it by hand, run the line for each store you use:");
    for (const step of steps) log(`  ${step.name}:\n    ${step.command}`);
    return served;
  }
  const report = await installCaCertificate(ca.certFile, {
    ...options.trust,
    run: options.run,
    nssDbDir: options.nssDbDir,
  });
  for (const line of trustReportLines(report)) log(line);
  return { ...served, report };
}

/**
 * SHA-256 of the first certificate in `pem`, as colon-separated upper-case hex.
 *
 * @example
 * ```ts
 * import { certificateFingerprint, prepareLocalTls } from "./local_tls.ts";
 * const dir = await Deno.makeTempDir();
 * const tls = await prepareLocalTls({ dir, installCert: false });
 * (await certificateFingerprint(await Deno.readTextFile(tls.caFile!))) === tls.caFingerprint; // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function certificateFingerprint(pem: string): Promise<string> {
  const [der] = fromPem("CERTIFICATE", pem);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der ?? new Uint8Array()));
  return toHex(digest).toUpperCase().replace(/(..)(?!$)/g, "$1:");
}

async function readGivenFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
): Promise<LocalTls> {
  if (certFile === undefined || keyFile === undefined) {
    const [given, missing] = certFile === undefined
      ? ["--tls-key", "--tls-cert"]
      : ["--tls-cert", "--tls-key"];
    throw new ConfigError(`Cannot use ${given} without ${missing}: give both or neither`);
  }
  const cert = await readFlagFile("--tls-cert", certFile);
  const key = await readFlagFile("--tls-key", keyFile);
  if (!/-----BEGIN CERTIFICATE-----/.test(cert)) {
    throw new ConfigError(`Cannot use --tls-cert ${certFile}: it holds no PEM certificate`);
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(key)) {
    throw new ConfigError(`Cannot use --tls-key ${keyFile}: it holds no PEM private key`);
  }
  return { cert, key, certFile };
}

async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (error as Error).message;
    throw new ConfigError(`Cannot read ${flag} ${path}: ${why}`, { cause: error });
  }
}
