/**
 * The command line: `proxy`, `proxy local` and `tunnel`, their help with examples, and the
 * mapping of errors to exit codes (2 and one line for user mistakes).
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./run.ts";
 * Deno.exit(await runCli(["proxy", "http://localhost:3000", "--sdk-url", "http://127.0.0.1:4433"]));
 * ```
 */
import { Command, CommanderError, Option } from "commander";
import { parseConfig, type ParseInput, type RawOptions } from "../config/parse.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import { runEngine } from "./engine.ts";
import { oryUrlConflict } from "./notices.ts";
import { addJwksCommand } from "./jwks_command.ts";
import { addJwtOptions, addSharedOptions } from "./options.ts";
import { suggestFlags } from "./suggest.ts";
import { prepareLocalTls } from "../tls/local_tls.ts";

/** Process effects, injectable for tests. */
export interface CliDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Resolves when the process is asked to stop. Default: SIGINT or SIGTERM. */
  readonly stop?: () => Promise<void>;
  /**
   * The program's main module, which `--workers` runs in each worker thread: `main.ts`, or
   * the file it was bundled into. Default: `Deno.mainModule`.
   */
  readonly mainModule?: string;
}

const PROXY_EXAMPLES = `
Examples:
  $ orygate proxy http://localhost:3000 --sdk-url https://<slug>.projects.oryapis.com
  $ ORY_PROJECT_SLUG=<slug> orygate proxy http://localhost:3000
  $ orygate proxy http://127.0.0.1:3000 https://www.example.org --project <slug> \\
      --cookie-domain example.org --allowed-cors-origins https://api.example.org
  $ orygate proxy http://localhost:3000 --project <slug> --protect-path-prefix /members \\
      --jwks ./orygate-jwks.json
  $ orygate proxy http://localhost:3000 --project <slug> --require-aal2 /billing \
      --require-identity "/admin metadata_public.role=admin" --identity-headers
  $ orygate proxy local http://localhost:3000 --project <slug>
`;

const TUNNEL_EXAMPLES = `
Examples:
  $ orygate tunnel http://localhost:3000 --project <slug>
  $ orygate tunnel http://localhost:3000 https://auth.example.org --project <slug> \\
      --allowed-cors-origins https://www.example.org
`;

const LOCAL_EXAMPLES = `
Examples:
  $ orygate proxy local http://localhost:3000 --project <slug>
  $ orygate proxy local http://localhost:3000 --sdk-url http://127.0.0.1:4433 --no-open
  $ orygate proxy local http://localhost:3000 --project <slug> --tls-cert cert.pem --tls-key key.pem
`;

/** commander's `Command`, whose unknown-flag error also suggests flags typed short. */
class OrygateCommand extends Command {
  override createCommand(name?: string): Command {
    return new OrygateCommand(name);
  }

  /** Called by commander for a flag that no option matches (absent from its typings). */
  unknownOption(flag: string): never {
    const flags = this.createHelp().visibleOptions(this).flatMap((o) => o.long ? [o.long] : []);
    const similar = suggestFlags(flag, flags);
    const hint = similar.length > 0 ? ` (did you mean ${similar.join(" or ")}?)` : "";
    this.error(`error: unknown option '${flag}'${hint}`, { code: "commander.unknownOption" });
  }
}

/** Runs the CLI and returns the process exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? writeTo(Deno.stdout);
  const stderr = deps.stderr ?? writeTo(Deno.stderr);
  let selected: ParseInput | undefined;
  let printedVersion = false;
  let ranCommand = false;
  const program = createProgram({
    stdout,
    stderr,
    env: deps.env ?? Deno.env.toObject(),
    printVersion: () => {
      stdout(`${VERSION}\n`);
      printedVersion = true;
    },
    select: (input) => {
      selected = input;
    },
    ran: () => {
      ranCommand = true;
    },
  });

  try {
    await program.parseAsync([...argv], { from: "user" });
    if (printedVersion || ranCommand) return 0;
    if (selected === undefined) {
      program.outputHelp({ error: true });
      return 2;
    }
    await serve(selected, {
      stderr,
      stop: deps.stop ?? waitForSignal,
      mainModule: deps.mainModule ?? Deno.mainModule,
    });
    return 0;
  } catch (err) {
    // Once a command asked for JSON logs, its last words are a JSON line too.
    const json = selected !== undefined &&
      (selected.options.logFormat ?? selected.env.ORYGATE_LOG_FORMAT) === "json";
    return exitCodeFor(err, json ? asJsonLine(stderr) : stderr);
  }
}

/** Writes `orygate: <message>` as a `--log-format json` error line. */
function asJsonLine(stderr: (text: string) => void): (text: string) => void {
  return (text) => {
    const msg = text.trim().replace(/^orygate: /, "");
    stderr(JSON.stringify({ time: new Date().toISOString(), level: "error", msg }) + "\n");
  };
}

/** What the commander program reports back to {@linkcode runCli}. */
interface ProgramHooks {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The environment the chosen command's config is parsed with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `orygate version` and `-V` (commander prints `-v`/`--version` itself). */
  readonly printVersion: () => void;
  /** Told which engine command the arguments chose, with its arguments and flags. */
  readonly select: (input: ParseInput) => void;
  /** Told that a command which does not serve (`jwks create`, `jwks rotate`) has finished. */
  readonly ran: () => void;
}

/** The commander program: version, help and error output, and the engine commands. */
function createProgram(hooks: ProgramHooks): Command {
  const program = new OrygateCommand("orygate")
    .description(
      "Ory's APIs on your application's domain: a reverse proxy, a tunnel, and local HTTPS.",
    )
    .version(VERSION, "-v, --version", "print the version (also -V, or `orygate version`)")
    .addOption(new Option("-V", "print the version").hideHelp())
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    // `proxy local` shares flag names with `proxy`: flags after `local` must be local's.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: hooks.stdout,
      writeErr: hooks.stderr,
      outputError: (message, write) =>
        write(
          `orygate: ${
            message.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")
              .replace("(Did you mean", "(did you mean")
          } (see --help)\n`,
        ),
    });

  // commander takes one flag pair for the version; -V (as many CLIs have it) joins here.
  program.on("option:V", () => {
    hooks.printVersion();
    throw new CommanderError(0, "commander.version", VERSION);
  });
  program.command("version").description("print the version").action(hooks.printVersion);
  addEngineCommands(program, hooks);
  addJwksCommand(program, hooks);
  return program;
}

/** `proxy`, `proxy local` and `tunnel`: each hands its arguments and flags to `select`. */
function addEngineCommands(program: Command, hooks: ProgramHooks): void {
  const { env, select } = hooks;
  const proxy = addJwtOptions(addSharedOptions(
    program.command("proxy")
      .description("Run your app and Ory on one domain, with Ory under /.ory and sessions as JWTs")
      .argument("<application-url>", "where your application listens, e.g. http://localhost:3000")
      .argument(
        "[publish-url]",
        "the public URL of the proxy (default: http://localhost:<port>); no path",
      )
      .option("--open", "open the browser at the publish URL once ready"),
  )).enablePositionalOptions().addHelpText("after", PROXY_EXAMPLES)
    .action((app: string, publish: string | undefined, options: RawOptions) => {
      select({ command: "proxy", appUrl: app, publishUrl: publish, options, env });
    });

  addJwtOptions(addSharedOptions(
    proxy.command("local")
      .description("Local development over HTTPS with a generated, trusted certificate")
      .argument("<application-url>", "where your application listens, e.g. http://localhost:3000")
      .option("--no-https", "serve plain http instead")
      .option("--dont-install-cert", "do not add the local certificate authority to trust stores")
      .option("--tls-cert <file>", "use this PEM certificate (chain) instead of a generated one")
      .option("--tls-key <file>", "the PEM private key for --tls-cert")
      .option(
        "--trust-stores <list>",
        "trust stores to add the CA to: nss,firefox,system (default: all)",
      )
      .option("--no-open", "do not open the browser"),
  )).addHelpText("after", LOCAL_EXAMPLES)
    .action((app: string, options: RawOptions) => {
      select({ command: "local", appUrl: app, options, env });
    });

  addSharedOptions(
    program.command("tunnel")
      .description("Ory's APIs at the root of your app's domain, for apps with their own login UI")
      .argument(
        "<application-url>",
        "your application's URL (allowed CORS origin, default redirect)",
      )
      .argument(
        "[tunnel-url]",
        "the public URL of the tunnel (default: http://localhost:<port>); no path",
      ),
  ).addHelpText("after", TUNNEL_EXAMPLES)
    .action((app: string, publish: string | undefined, options: RawOptions) => {
      select({ command: "tunnel", appUrl: app, publishUrl: publish, options, env });
    });
}

/**
 * Serves the chosen command until a stop is asked for: its config, the start-up notices,
 * the local TLS material (`proxy local`), then the engine. `stop` is called only when the
 * engine starts: until then a signal ends the process as it would any other.
 */
async function serve(
  selected: ParseInput,
  io: {
    readonly stderr: (text: string) => void;
    readonly stop: () => Promise<void>;
    readonly mainModule: string;
  },
): Promise<void> {
  const config = parseConfig(selected);
  const logger = createLogger(config.logLevel, { write: io.stderr, format: config.logFormat });
  const conflict = oryUrlConflict(selected, config);
  if (conflict) logger.warn(conflict);
  const tls = config.tls
    ? await prepareLocalTls({
      installCert: config.tls.installCert,
      trust: config.tls.trustStores ? { stores: config.tls.trustStores } : undefined,
      certFile: config.tls.certFile,
      keyFile: config.tls.keyFile,
      log: (line: string) => logger.info(line),
    })
    : undefined;
  await runEngine(config, {
    logger,
    stop: io.stop(),
    tls,
    workers: { input: selected, module: io.mainModule },
  });
}

/** Says what went wrong and returns the exit code: 2 for the user's mistakes, else 1. */
function exitCodeFor(err: unknown, stderr: (text: string) => void): number {
  if (err instanceof CommanderError) {
    // Its message, the help or the version has been printed already.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof ConfigError) {
    stderr(`orygate: ${err.message}\n`);
    return 2;
  }
  stderr(`orygate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

/** A writer to a standard stream: one synchronous write per text. */
function writeTo(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  return (text) => {
    // A batch of access lines is up to ~16 KiB: a pipe may take part of it per write.
    const bytes = new TextEncoder().encode(text);
    for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
  };
}

/** Resolves on the first SIGINT or SIGTERM (SIGINT and SIGBREAK on Windows). */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK"]
      : ["SIGINT", "SIGTERM"];
    const handler = () => {
      for (const s of signals) Deno.removeSignalListener(s, handler);
      resolve();
    };
    for (const s of signals) Deno.addSignalListener(s, handler);
  });
}
