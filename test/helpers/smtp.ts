import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';

export interface SinkMail {
  envelope: { from: string; to: string[] };
  raw: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server that keeps every mail it is sent: the outside mail server of the tests
 * (`TASKHUB_SMTP_URL=smtp://127.0.0.1:<port>`). Start it on a given port to bring a closed sink "back up". With
 * `refuseOverBytes` it answers a larger mail `552`, as a real server with a size limit does. With `hold` it reads
 * each mail whole but never answers it (kept in `held`, not in `mails`): a sender stuck mid-send.
 */
export async function startSmtpSink(port = 0, options: { refuseOverBytes?: number; hold?: boolean } = {}) {
  const mails: SinkMail[] = [];
  /** Mails read but never answered (with `hold`): not delivered. */
  const held: SinkMail[] = [];
  /** Sizes of the mails refused with `552` (with `refuseOverBytes`). */
  const refused: number[] = [];
  let wake: (() => void) | undefined;
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const size = chunks.reduce((n, c) => n + c.length, 0);
        if (options.refuseOverBytes !== undefined && size > options.refuseOverBytes) {
          refused.push(size);
          const error = Object.assign(new Error(`5.3.4 Message size exceeds ${options.refuseOverBytes} bytes`), { responseCode: 552 });
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then((parsed) => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const mail = { envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, raw, parsed };
          (options.hold ? held : mails).push(mail);
          wake?.();
          if (!options.hold) callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as { port: number }).port;

  /** Resolves once `predicate` holds over the mails received (polling every 50 ms, woken by each mail). */
  const waitFor = async (predicate: (m: SinkMail[]) => boolean, timeoutMs = 10_000): Promise<SinkMail[]> => {
    const deadline = Date.now() + timeoutMs;
    const list = options.hold ? held : mails;
    while (!predicate(list)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`sink: timed out; got ${JSON.stringify(mails.map((m) => m.parsed.subject))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return list;
  };

  return {
    port: bound,
    url: `smtp://127.0.0.1:${bound}`,
    mails,
    held,
    refused,
    waitFor,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text?: string;
  /** Envelope sender, when it should differ from `from`; `''` sends `MAIL FROM:<>` (a bounce's empty return path). */
  envelopeFrom?: string;
  /** The whole message as written (headers and body), sent instead of one built from the fields above. */
  raw?: string;
  headers?: Record<string, string>;
  inReplyTo?: string;
  attachments?: { filename: string; content: string }[];
}

export type SendOutcome =
  | { ok: true; response: string; rejected: string[] }
  | { ok: false; responseCode: number | undefined; message: string };

/** Sends one mail over real SMTP with nodemailer (as an agent replying would); never throws for a refusal. */
export async function sendMail(port: number, mail: OutgoingMail): Promise<SendOutcome> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text ?? '',
      ...(mail.envelopeFrom !== undefined && { envelope: { from: mail.envelopeFrom, to: mail.to } }),
      ...(mail.raw !== undefined && { raw: mail.raw, envelope: { from: mail.envelopeFrom ?? mail.from, to: mail.to } }),
      ...(mail.headers && { headers: mail.headers }),
      ...(mail.inReplyTo && { inReplyTo: mail.inReplyTo }),
      ...(mail.attachments && { attachments: mail.attachments }),
    });
    return { ok: true, response: info.response, rejected: info.rejected.map(String) };
  } catch (error) {
    const e = error as { responseCode?: number; message: string };
    return { ok: false, responseCode: e.responseCode, message: e.message };
  } finally {
    transport.close();
  }
}
