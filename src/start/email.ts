import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createDeliveryPlanner } from '../hub/delivery-planner.js';
import { listenError, type Releasers } from '../releasers.js';
import { createComposer } from '../transport/email/compose.js';
import { createDevMailbox } from '../transport/email/dev-mailbox.js';
import { startInboundSmtp } from '../transport/email/inbound.js';
import { createMailTransport, createOutboxSender } from '../transport/email/outbox-sender.js';
import { createReplyAddresses } from '../transport/email/reply-address.js';
import type { Core } from './core.js';

/**
 * The email fallback: the planner that queues mail for agents without a stream, the embedded SMTP listener (replies,
 * and the dev mailbox when no TASKHUB_SMTP_URL is set) and the outbox sender, which starts after the listener so that
 * dev mail has somewhere to go.
 */
export async function startEmail(config: Config, { hub, store, metrics }: Core, secret: string, logger: Logger, releasers: Releasers) {
  hub.changes.addPlanner(createDeliveryPlanner({ presence: hub.presence, now: hub.now }));
  const replyAddresses = createReplyAddresses(secret, config.mailDomain);
  const mailbox = createDevMailbox(store.devMailbox, { maxBytes: config.devMailboxBytes });
  const inbound = await startInboundSmtp(
    {
      tasks: hub.tasks,
      agents: store.agents,
      replyAddresses,
      logger: logger.child({ part: 'smtp-in' }),
      touch: (agent) => hub.agents.touch(agent),
      onOutcome: metrics.mailReceived,
    },
    {
      port: config.smtpPort,
      host: config.host,
      ...(config.smtpUrl === undefined && { devMailbox: mailbox }),
      // An emailed reply to a message joins its thread, as the agent answering it over HTTP would.
      onMessageReply: (agent, messageId, reply) => hub.messages.reply({ name: agent, role: 'agent' }, messageId, reply),
    },
  ).catch((error: unknown) => {
    throw listenError(error, 'TASKHUB_SMTP_PORT', config.host, config.smtpPort);
  });
  releasers.add(() => inbound.stop());
  const loopback = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const transport = createMailTransport(config.smtpUrl ? { url: config.smtpUrl } : { host: loopback, port: inbound.port });
  const composer = createComposer({
    from: config.mailFrom,
    domain: config.mailDomain,
    instanceId: await store.outbox.instanceId(),
    replyAddresses,
  });
  const sender = createOutboxSender(
    {
      outbox: store.outbox,
      onQueued: (listener) => hub.changes.onQueued('email', listener),
      transport,
      composer,
      logger: logger.child({ part: 'smtp-out' }),
      onOutcome: metrics.mailSent,
    },
    { now: hub.now, claimMs: config.outboxClaimMs, ...(store.feed && { pollMs: config.outboxPollMs }) },
  );
  sender.start();
  releasers.add(() => sender.stop());
  logger.info({ smtpPort: inbound.port, outbound: config.smtpUrl ? 'TASKHUB_SMTP_URL' : 'dev mailbox' }, 'email ready');
  return { inbound, sender, mailbox };
}

export type Email = Awaited<ReturnType<typeof startEmail>>;
