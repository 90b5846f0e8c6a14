import type { HubEvent } from '../../domain/types.js';
import { eventFrame } from './frames.js';

/** Where a stream writes; the HTTP layer adapts a response to it, so this module never sees `req`/`res`. */
export interface StreamSink {
  write(chunk: string): void;
  /** Bytes written but not yet taken by the operating system. */
  bufferedBytes(): number;
  /** Resolves once the buffered bytes have drained (or the sink closed). */
  drained(): Promise<void>;
  end(): void;
}

/** Who reads a stream: an agent sees its own events, an admin every event. */
export interface Subscriber {
  name: string;
  admin: boolean;
}

export interface SessionLimits {
  /** Buffered bytes past which the reader is too slow and the stream is dropped. */
  maxBufferedBytes: number;
  /** Live events held while a replay is still being written, past which the stream is dropped. */
  maxQueuedEvents: number;
}

export type CloseReason = 'client' | 'slow_reader' | 'agent_removed' | 'token_rotated' | 'shutdown';

/**
 * One open stream. Until its replay is written it queues live events; then it writes each event whose id is
 * greater than the last one written, so the client sees every event once, in order.
 */
export class StreamSession {
  readonly subscriber: Subscriber;
  /** Id of the newest event written (or skipped as already known to the client). */
  cursor = 0;
  lastWriteAt = Date.now();
  closed = false;
  private replaying = true;
  private queue: HubEvent[] = [];

  constructor(
    subscriber: Subscriber,
    private readonly sink: StreamSink,
    private readonly limits: SessionLimits,
    private readonly onClose: (session: StreamSession, reason: CloseReason) => void,
  ) {
    this.subscriber = subscriber;
  }

  /** Writes a frame, dropping the stream when its reader has fallen too far behind. */
  write(frame: string): void {
    if (this.closed) return;
    this.sink.write(frame);
    this.lastWriteAt = Date.now();
    if (this.sink.bufferedBytes() > this.limits.maxBufferedBytes) this.close('slow_reader');
  }

  /** Hands a live event to the stream; `frame` lets a fan-out build the frame once for all streams. */
  deliver(event: HubEvent, frame?: string): void {
    if (this.closed) return;
    if (this.replaying) {
      this.queue.push(event);
      if (this.queue.length > this.limits.maxQueuedEvents) this.close('slow_reader');
      return;
    }
    if (event.id <= this.cursor) return;
    this.cursor = event.id;
    this.write(frame ?? eventFrame(event));
  }

  /** Writes replayed events (ascending ids, all above the cursor). */
  replay(events: readonly HubEvent[]): void {
    for (const event of events) {
      if (this.closed) return;
      if (event.id <= this.cursor) continue;
      this.cursor = event.id;
      this.write(eventFrame(event));
    }
  }

  /** Ends the replay: writes what arrived meanwhile and goes live. */
  goLive(): void {
    this.replaying = false;
    const queued = this.queue;
    this.queue = [];
    for (const event of queued) this.deliver(event);
  }

  isBackedUp(): boolean {
    return this.sink.bufferedBytes() > 0;
  }

  drained(): Promise<void> {
    return this.sink.drained();
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.sink.end();
    this.onClose(this, reason);
  }
}
