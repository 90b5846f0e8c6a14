import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { AgentTable } from '../../store/store.js';
import type { DevMailbox } from './dev-mailbox.js';
import { toDevMail } from './dev-mailbox.js';
import { applyReply, SmtpRefusal, type MessageReplyHook, type ReplyTarget, type TaskActions } from './inbound-reply.js';
import type { ReplyAddresses, ReplyKind } from './reply-address.js';

/** Largest mail the listener takes, bytes (advertised as SIZE; a bigger one gets `552`). */
export const MAX_INBOUND_MAIL_BYTES = 10 * 1024 * 1024;
/** SMTP clients connected at once; past it a new client gets `421` and is disconnected. */
export const MAX_INBOUND_CLIENTS = 100;
/**
 * A client that sends nothing for this long is disconnected, ms (smtp-server's own default is 60 s). Clients
 * send their commands promptly; an idle pooled sender reconnects when it next has mail.
 */
export const SMTP_IDLE_TIMEOUT_MS = 30_000;
/** Shortest gap between two log lines about the client cap, ms. */
const CAP_LOG_INTERVAL_MS = 10_000;
/** Recipients of one mail transaction. */
export const MAX_INBOUND_RECIPIENTS = 50;
/** How long `stop()` lets SMTP sessions in progress finish before they are cut, ms. */
const CLOSE_TIMEOUT_MS = 2000;

export interface InboundOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  host: string;
  /** Keeps mail for addresses that are not reply addresses; without it such mail is refused (`550`). */
  devMailbox?: DevMailbox;
  /** Turns a reply to a message's reply address into a message; without it such replies are refused (`550`). */
  onMessageReply?: MessageReplyHook;
  /** Default MAX_INBOUND_MAIL_BYTES. */
  maxMailBytes?: number;
  /** Default SMTP_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  now?: () => number;
}

interface Deps {
  tasks: TaskActions;
  agents: Pick<AgentTable, 'findByEmail'>;
  replyAddresses: ReplyAddresses;
  logger: Logger;
  /** Called with the agent whose emailed reply was taken: it was seen, as a request would show it. */
  touch?: (agent: string) => void;
  /** Told each mail's outcome: `reply` (taken), `kept` (in the dev mailbox) or `refused`. For metrics. */
  onOutcome?: (outcome: 'reply' | 'kept' | 'refused') => void;
}

/** Addresses in a refusal, left out of its log line: a reply address carries its signature. */
const withoutAddresses = (text: string) => text.replace(/<[^>]*>/g, '<…>');

type Recipient = ReplyTarget | { kind: 'mailbox'; address: string };

const senderOf = (session: SMTPServerSession) =>
  session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';

/** Reads the DATA stream, keeping at most `max` bytes; `undefined` when the mail was larger (the rest is drained). */
async function readLimited(stream: SMTPServerDataStream, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  return size > max || stream.sizeExceeded ? undefined : Buffer.concat(chunks);
}

/** Logs (at most every 10 s) when a client arrives at the cap, which smtp-server answers with `421` silently. */
function logClientCap(server: SMTPServer, logger: Logger): void {
  let last = 0;
  let refused = 0;
  server.server.on('connection', () => {
    const open = (server as unknown as { connections: Set<unknown> }).connections.size;
    if (open < MAX_INBOUND_CLIENTS) return;
    refused += 1;
    if (Date.now() - last < CAP_LOG_INTERVAL_MS) return;
    last = Date.now();
    logger.warn({ maxClients: MAX_INBOUND_CLIENTS, refused }, `SMTP client cap of ${MAX_INBOUND_CLIENTS} reached: refusing new clients with 421`);
  });
}

/**
 * The embedded SMTP listener. It takes replies to signed reply addresses from the agent's registered address and
 * acts on them through the same task service as the HTTP routes; with a dev mailbox it keeps mail for any other
 * address. Everything else is refused with `550` at RCPT or DATA, before anything changes. No AUTH, no STARTTLS:
 * put a real MTA in front of it to receive mail from the internet.
 */
export async function startInboundSmtp(deps: Deps, options: InboundOptions) {
  const { replyAddresses, logger } = deps;
  const now = options.now ?? Date.now;
  const maxMailBytes = options.maxMailBytes ?? MAX_INBOUND_MAIL_BYTES;

  const resolve = async (address: string, sender: string): Promise<Recipient> => {
    const parsed = replyAddresses.parse(address);
    if (!parsed) {
      if (options.devMailbox) return { kind: 'mailbox', address };
      throw new SmtpRefusal(550, `5.1.1 <${address}>: no such mailbox here; only replies to taskhub mail are taken`);
    }
    if (!sender) {
      throw new SmtpRefusal(
        550,
        '5.7.1 Mail with an empty return path (MAIL FROM:<>, a bounce or an automatic reply) is not taken; reply in person',
      );
    }
    for (const agent of await deps.agents.findByEmail(sender)) {
      for (const kind of ['task', 'message'] as ReplyKind[]) {
        if (replyAddresses.verify(kind, parsed.id, agent.name, parsed.signature)) {
          return { kind: 'reply', replyKind: kind, id: parsed.id, agent: agent.name };
        }
      }
    }
    throw new SmtpRefusal(
      550,
      `5.7.1 <${address}> is not a reply address of sender <${sender}>: reply from the agent's registered address to the Reply-To of the hub's mail`,
    );
  };

  const handleData = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> => {
    const raw = await readLimited(stream, maxMailBytes);
    if (!raw) throw new SmtpRefusal(552, `5.3.4 The mail is larger than the ${maxMailBytes}-byte limit`);
    const mail: ParsedMail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    const sender = senderOf(session);
    // Checked again: the agent's address may have changed since RCPT.
    const recipients: Recipient[] = [];
    for (const rcpt of session.envelope.rcptTo) recipients.push(await resolve(rcpt.address, sender));
    const reply = recipients.find((r): r is ReplyTarget => r.kind === 'reply');
    if (reply) {
      await applyReply(deps.tasks, options.onMessageReply, reply, mail, sender);
      deps.touch?.(reply.agent);
      logger.info({ agent: reply.agent, kind: reply.replyKind, id: reply.id }, 'mail reply taken');
    }
    deps.onOutcome?.(reply ? 'reply' : 'kept');
    const receivedAt = now();
    // The `250` follows the mails' own commit: nothing is acknowledged before it is durable.
    await options.devMailbox?.add(
      recipients.flatMap((r) => (r.kind === 'mailbox' ? [toDevMail(mail, { from: sender, to: r.address }, receivedAt)] : [])),
    );
    return reply ? `Accepted: ${reply.replyKind} ${reply.id} updated` : 'Accepted';
  };

  const toSmtpError = (error: unknown): Error => {
    deps.onOutcome?.('refused');
    if (error instanceof SmtpRefusal) {
      logger.info({ smtpCode: error.responseCode, why: withoutAddresses(error.message) }, 'mail refused');
      return error;
    }
    logger.error({ err: error }, 'inbound mail failed');
    return new SmtpRefusal(451, '4.3.0 The hub could not take this mail right now; try again later');
  };

  const server = new SMTPServer({
    name: 'taskhub',
    banner: 'taskhub',
    logger: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    size: maxMailBytes,
    rejectOversized: true,
    maxClients: MAX_INBOUND_CLIENTS,
    socketTimeout: options.idleTimeoutMs ?? SMTP_IDLE_TIMEOUT_MS,
    maxRecipients: MAX_INBOUND_RECIPIENTS,
    closeTimeout: CLOSE_TIMEOUT_MS,
    onRcptTo(address, session, callback) {
      resolve(address.address, senderOf(session)).then(
        (recipient) => {
          const replies = session.envelope.rcptTo.filter((r) => replyAddresses.parse(r.address)).length;
          if (recipient.kind === 'reply' && replies > 0) {
            callback(new SmtpRefusal(550, '5.5.3 One reply address per mail: send each reply on its own'));
          } else callback();
        },
        (error: unknown) => callback(toSmtpError(error)),
      );
    },
    onData(stream, session, callback) {
      handleData(stream, session).then(
        (message) => callback(null, message),
        (error: unknown) => callback(toSmtpError(error)),
      );
    },
  });
  server.on('error', (error) => logger.warn({ err: error }, 'SMTP listener error'));
  logClientCap(server, logger);

  await new Promise<void>((resolveListen, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    /** The port actually bound (useful with port 0). */
    port,
    /** Stops accepting; sessions in progress get up to a couple of seconds. Idempotent. */
    stop: (): Promise<void> => (closing ??= new Promise<void>((done) => server.close(() => done()))),
  };
}

export type InboundSmtp = Awaited<ReturnType<typeof startInboundSmtp>>;
