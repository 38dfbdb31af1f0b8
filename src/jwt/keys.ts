/**
 * ES256 signing keys: generated at start, or loaded from (and created in) a JWK Set file so
 * a restart keeps the same `kid` and applications keep verifying. With several keys in the
 * file the first signs and all are published, which allows rotation. A file that exists is
 * only read, never written (a read-only Kubernetes Secret mount works).
 *
 * @example
 * ```ts
 * import { generateSigningKey } from "./keys.ts";
 * const key = await generateSigningKey();
 * console.log(key.publicJwk.kid === key.kid); // true
 * ```
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { ConfigError } from "../errors.ts";
import type { JwtConfig } from "../config/config.ts";

/** A key that can sign, with its public half as a JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** Public JWK (no `d`), with `kid`, `alg`, `use`. */
  readonly publicJwk: JWK;
}

/** All keys: `keys[0]` signs, every one is published. */
export interface KeySet {
  readonly keys: readonly SigningKey[];
  /**
   * Where the keys came from (a `--jwks` file, or `the ORYGATE_JWKS variable`) and whether this
   * start created that file.
   */
  readonly file?: { readonly path: string; readonly created: boolean };
}

/** File-system effects, injectable for tests. */
export interface KeyFileSystem {
  readTextFile(path: string): Promise<string>;
  /** Creates the file with mode 0600; fails if it exists. */
  createPrivateFile(path: string, text: string): Promise<void>;
}

const denoFs: KeyFileSystem = {
  readTextFile: (path) => Deno.readTextFile(path),
  createPrivateFile: (path, text) =>
    Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 }),
};

/** Generates a fresh ES256 key whose `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey(): Promise<SigningKey> {
  return fromPrivateJwk(await generatePrivateJwk());
}

/** A new ES256 private JWK with `kid` (its RFC 7638 thumbprint), `alg` and `use`. */
export async function generatePrivateJwk(): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "ES256", use: "sig" };
}

/**
 * Loads the key set from `path`, creating the file with one new key (mode 0600) when it does
 * not exist; an existing file is only read. Throws ConfigError for an unreadable or invalid
 * file. `flag` names the setting in messages (`--jwks`, or `ORYGATE_JWKS`).
 */
export async function loadOrCreateKeySet(
  path: string,
  fs: KeyFileSystem = denoFs,
  flag = "--jwks",
): Promise<KeySet> {
  let text: string;
  try {
    text = await fs.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`Cannot read ${flag} ${path}: ${(err as Error).message}`);
    }
    const privateJwk = await generatePrivateJwk();
    const file = { keys: [privateJwk] };
    try {
      await fs.createPrivateFile(path, JSON.stringify(file, null, 2) + "\n");
    } catch (writeErr) {
      if (writeErr instanceof Deno.errors.AlreadyExists) {
        return loadOrCreateKeySet(path, fs, flag);
      }
      throw new ConfigError(`Cannot create ${flag} ${path}: ${(writeErr as Error).message}`);
    }
    return { keys: [await fromPrivateJwk(privateJwk)], file: { path, created: true } };
  }
  return { ...await parseKeySet(`${flag} ${path}`, text), file: { path, created: false } };
}

/**
 * The signing keys the config names: from the `--jwks`/`ORYGATE_JWKS` file (created when
 * missing) or JSON, else a new key for this run. Loaded once per process: with `--workers`,
 * the parent loads them and hands them to every worker, so all sign with the same key.
 */
export async function loadConfiguredKeySet(
  jwt: Pick<JwtConfig, "jwksFile" | "jwksJson" | "jwksSource">,
): Promise<KeySet> {
  const flag = jwt.jwksSource ?? "--jwks";
  if (jwt.jwksFile !== undefined) return await loadOrCreateKeySet(jwt.jwksFile, undefined, flag);
  if (jwt.jwksJson !== undefined) {
    const set = await parseKeySet(flag, jwt.jwksJson);
    return { ...set, file: { path: `the ${flag} value`, created: false } };
  }
  return { keys: [await generateSigningKey()] };
}

/**
 * Parses a JWK Set holding ES256 private keys; `source` names it in messages
 * (`--jwks ./keys.json`, `ORYGATE_JWKS`).
 */
export async function parseKeySet(source: string, text: string): Promise<KeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`Cannot use ${source}: it is not JSON`);
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(
      `Cannot use ${source}: expected a JWK Set {"keys": [...]} with at least one key`,
    );
  }
  const out: SigningKey[] = [];
  for (const [i, raw] of keys.entries()) {
    const jwk = raw as JWK;
    if (jwk?.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string") {
      throw new ConfigError(
        `Cannot use ${source}: key ${i} is not an ES256 private key (kty EC, crv P-256, with "d")`,
      );
    }
    try {
      out.push(
        await fromPrivateJwk({
          ...jwk,
          alg: "ES256",
          kid: typeof jwk.kid === "string" && jwk.kid !== ""
            ? jwk.kid
            : await calculateJwkThumbprint(jwk),
        }),
      );
    } catch (err) {
      throw new ConfigError(
        `Cannot use ${source}: key ${i} is invalid (${(err as Error).message})`,
      );
    }
  }
  return { keys: out };
}

async function fromPrivateJwk(jwk: JWK & { kid: string }): Promise<SigningKey> {
  const privateKey = await importJWK(jwk, "ES256") as CryptoKey;
  const { kty, crv, x, y } = jwk;
  return {
    kid: jwk.kid,
    privateKey,
    publicJwk: { kty, crv, x, y, kid: jwk.kid, alg: "ES256", use: "sig" },
  };
}
