/**
 * A local SMTP server that keeps every message Kratos's courier sends (verification codes), for
 * the end-to-end tests and the quick start. It listens on 127.0.0.1 only, accepts any sender and
 * recipient without authentication, and never relays.
 *
 * The SMTP side is `smtp-server` and the MIME side `mailparser` (both from the Nodemailer
 * project): Kratos sends `multipart/alternative` with quoted-printable parts, whose soft line
 * breaks (`=\r\n`) would otherwise have to be decoded by hand.
 *
 * @module
 */
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

/** A message as the sink received it. */
export interface Mail {
  /** Recipients from the envelope (`RCPT TO`), lower-cased. */
  readonly to: readonly string[];
  readonly subject: string;
  /** The plain-text body (decoded). */
  readonly text: string;
}

/** A running sink, returned by {@link startSmtpSink}. */
export interface SmtpSink {
  /** What Kratos's `courier.smtp.connection_uri` should be (no STARTTLS on loopback). */
  readonly url: string;
  readonly port: number;
  /** Every message so far, in arrival order. */
  readonly mails: readonly Mail[];
  /**
   * Resolves with the first message at index `after` or later (default 0) that `match` accepts,
   * waiting for it up to `timeoutMs` (default 30 000).
   */
  waitForMail(
    match: (mail: Mail) => boolean,
    options?: { after?: number; timeoutMs?: number },
  ): Promise<Mail>;
  close(): Promise<void>;
}

/** Options of {@link startSmtpSink}. */
export interface SmtpSinkOptions {
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Called with each message as it arrives (the quick start prints it). */
  onMail?: (mail: Mail) => void;
}

/**
 * Starts the sink.
 *
 * @example
 * ```ts ignore
 * const sink = await startSmtpSink();
 * const kratos = await startKratos({ publishUrl, smtpUrl: sink.url });
 * const mail = await sink.waitForMail((m) => m.to.includes("me@example.com"));
 * ```
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    // Kratos's courier does not authenticate and, with `disable_starttls=true`, does not ask
    // for TLS; announcing either would only invite a failing negotiation.
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        const mail: Mail = {
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          subject: parsed.subject ?? "",
          text: parsed.text ?? "",
        };
        mails.push(mail);
        options.onMail?.(mail);
        for (const wake of waiters) wake();
        callback();
      }, (error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.server.address() as { port: number }).port;

  return {
    url: `smtp://127.0.0.1:${port}/?disable_starttls=true`,
    port,
    mails,
    waitForMail(match, { after = 0, timeoutMs = 30_000 } = {}) {
      const find = () => mails.slice(after).find(match);
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise<Mail>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          const mail = find();
          if (mail) {
            done();
            resolve(mail);
          }
        };
        const timer = setTimeout(() => {
          done();
          const seen = mails.slice(after).map((m) => `${m.to.join(",")}: ${m.subject}`);
          reject(
            new Error(
              `No matching mail within ${timeoutMs} ms (received since: ${
                seen.length ? seen.join("; ") : "none"
              })`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
