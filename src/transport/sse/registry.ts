import type { Logger } from 'pino';
import { HubError } from '../../domain/errors.js';
import type { HubEvent } from '../../domain/types.js';
import type { AgentSignal, EventBus } from '../../hub/event-bus.js';
import type { Presence } from '../../hub/presence.js';
import type { Hub } from '../../hub/index.js';
import { eventFrame, PING_FRAME, readyFrame, resetFrame } from './frames.js';
import { StreamSession, type CloseReason, type StreamSink, type Subscriber } from './session.js';

export interface StreamRegistryOptions {
  /** Open streams one agent (or one admin name) may hold. */
  maxStreamsPerSubscriber: number;
  /** Interval of the `: ping` comment on a stream with nothing else to say, ms. */
  heartbeatMs: number;
  /** Bytes a stream may have buffered before it is dropped. */
  maxBufferedBytes: number;
  /** Live events held per stream while its replay is written. Default 10,000. */
  maxQueuedEvents?: number;
  /** Events read from the store per replay page. Default 500. */
  replayPageSize?: number;
}

interface Deps {
  bus: EventBus;
  /** This hub's share of presence: each agent stream opened is counted there, against the limit on all hubs. */
  presence: Pick<Presence, 'open' | 'close'>;
  /**
   * Committed events (`hub.events`). A read never sees an event whose change has not committed, so an event is
   * either read here or still to come through the bus, never taken as known before it is.
   */
  events: Hub['events'];
  logger: Logger;
}

/**
 * All open SSE streams: per-subscriber limits, fan-out of committed events, replay after `Last-Event-ID`, and one
 * heartbeat timer for every stream. `close()` ends every stream and clears the timer; it is safe to call twice.
 */
export function createStreamRegistry(deps: Deps, options: StreamRegistryOptions) {
  const { bus, presence, events, logger } = deps;
  const limits = { maxBufferedBytes: options.maxBufferedBytes, maxQueuedEvents: options.maxQueuedEvents ?? 10_000 };
  const pageSize = options.replayPageSize ?? 500;
  const bySubscriber = new Map<string, Set<StreamSession>>();
  const admins = new Set<StreamSession>();
  let open = 0;
  let closed = false;

  const key = (s: Subscriber) => `${s.admin ? 'admin' : 'agent'}:${s.name}`;

  const onSessionClosed = (session: StreamSession, reason: CloseReason) => {
    const set = bySubscriber.get(key(session.subscriber));
    if (!set?.delete(session)) return;
    if (set.size === 0) bySubscriber.delete(key(session.subscriber));
    open -= 1;
    if (session.subscriber.admin) admins.delete(session);
    else presence.close(session.subscriber.name);
    // One line per stream closed, except the hub's own shutdown, which would write one per stream at once.
    if (reason !== 'shutdown') {
      const { name, admin } = session.subscriber;
      const message = reason === 'slow_reader' ? 'slow reader dropped' : reason === 'client' ? 'stream closed' : 'stream closed by the hub';
      logger.info({ subscriber: name, ...(admin && { admin }), reason, streams: set.size }, message);
    }
  };

  const fanOut = (event: HubEvent) => {
    const frame = eventFrame(event);
    for (const session of admins) session.deliver(event, frame);
    for (const agent of event.recipients) {
      const set = bySubscriber.get(`agent:${agent}`);
      if (set) for (const session of set) session.deliver(event, frame);
    }
  };

  const closeAgent = (agent: string, reason: CloseReason) => {
    for (const session of [...(bySubscriber.get(`agent:${agent}`) ?? [])]) session.close(reason);
  };

  const onSignal = (signal: AgentSignal) =>
    closeAgent(signal.agent, signal.type === 'agent.removed' ? 'agent_removed' : 'token_rotated');

  const replayPages = async (session: StreamSession) => {
    const { name, admin } = session.subscriber;
    for (;;) {
      const page = await (admin
        ? events.listAll(session.cursor, pageSize)
        : events.listForAgent(name, session.cursor, pageSize));
      await session.replay(page);
      if (page.length < pageSize || session.closed) return;
      // Let other requests run between pages.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };

  /** Writes `ready`, then the replay after `lastEventId` (or `reset`), then goes live. */
  const start = async (session: StreamSession, lastEventId: number | undefined) => {
    const { subscriber } = session;
    const [newest, prunedThrough] = await Promise.all([events.lastId(), events.prunedThrough()]);
    const resumable = lastEventId !== undefined && lastEventId >= prunedThrough && lastEventId <= newest;
    session.cursor = resumable ? lastEventId : newest;
    session.write(readyFrame(subscriber.name, session.cursor));
    logger.info(
      {
        subscriber: subscriber.name,
        ...(subscriber.admin && { admin: true }),
        streams: bySubscriber.get(key(subscriber))?.size ?? 0,
        ...(lastEventId !== undefined && { lastEventId, resumed: resumable }),
      },
      'stream opened',
    );
    if (resumable) await replayPages(session);
    else if (lastEventId !== undefined) session.write(resetFrame(newest));
    session.goLive();
  };

  const heartbeat = setInterval(() => {
    const due = Date.now() - options.heartbeatMs / 2;
    for (const set of bySubscriber.values()) {
      for (const session of set) if (session.lastWriteAt <= due) session.write(PING_FRAME);
    }
  }, options.heartbeatMs);

  const unsubscribe = bus.subscribe(fanOut);
  const unsignal = bus.onAgentSignal(onSignal);

  return {
    /**
     * Opens a stream: writes `ready`, then the subscriber's events after `lastEventId` (or `reset` when those
     * are no longer kept), then live events. Without `lastEventId` the stream starts at the newest event.
     * @throws HubError `too_many_streams` over the per-subscriber limit, `shutting_down` after `close()`.
     */
    async open(subscriber: Subscriber, sink: StreamSink, lastEventId?: number): Promise<StreamSession> {
      if (closed) throw new HubError('shutting_down', 'The hub is shutting down.');
      const max = options.maxStreamsPerSubscriber;
      if (subscriber.admin) {
        // An admin name is no agent: its streams are limited per hub, where they are kept.
        const held = bySubscriber.get(key(subscriber))?.size ?? 0;
        if (held >= max) throw tooManyStreams(subscriber.name, held);
      } else {
        // Counted on every hub at once; `too_many_streams` at the limit, `unavailable` without the database.
        await presence.open(subscriber.name, max);
        if (closed) {
          presence.close(subscriber.name);
          throw new HubError('shutting_down', 'The hub is shutting down.');
        }
      }
      const set = bySubscriber.get(key(subscriber)) ?? new Set<StreamSession>();
      const session = new StreamSession(subscriber, sink, limits, onSessionClosed);
      bySubscriber.set(key(subscriber), set.add(session));
      open += 1;
      if (subscriber.admin) admins.add(session);

      try {
        await start(session, lastEventId);
      } catch (error) {
        // A session whose replay failed must not stay registered: its agent would count as connected and get
        // neither email nor its events.
        session.close('error');
        throw error;
      }
      return session;
    },

    /** Open streams in all. */
    size(): number {
      return open;
    },

    close(): void {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsignal();
      unsubscribe();
      for (const set of [...bySubscriber.values()]) for (const session of [...set]) session.close('shutdown');
    },
  };
}

function tooManyStreams(name: string, held: number): HubError {
  return new HubError('too_many_streams', `"${name}" already has ${held} open streams, the most allowed; close one first.`, {
    retryAfterSeconds: 5,
  });
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>;
