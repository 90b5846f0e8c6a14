import type { HubEvent } from '../../domain/types.js';
import { eventFrame } from './frames.js';

/** Where a stream writes; the HTTP layer adapts a response to it, so this module never sees `req`/`res`. */
export interface StreamSink {
  write(chunk: string): void;
  /** Bytes written but not yet taken by the operating system. */
  bufferedBytes(): number;
  /** True when the last write filled the buffer past its high-water mark. */
  needsDrain(): boolean;
  /** Resolves once the sink can take more without growing its buffer (at once if it already can). */
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

export type CloseReason = 'client' | 'slow_reader' | 'agent_removed' | 'token_rotated' | 'shutdown' | 'error';

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

  /** Writes a frame, dropping the stream when its reader has fallen too far behind live events. */
  write(frame: string): void {
    if (this.closed) return;
    this.sink.write(frame);
    this.lastWriteAt = Date.now();
    // A replay waits for the socket instead (see `replay`), so only live writes can outrun a reader.
    if (!this.replaying && this.sink.bufferedBytes() > this.limits.maxBufferedBytes) this.close('slow_reader');
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

  /**
   * Writes replayed events (ascending ids), pausing whenever the socket asks to, so that a long replay is paced
   * by the reader instead of piling up in memory.
   */
  async replay(events: readonly HubEvent[]): Promise<void> {
    for (const event of events) {
      if (this.closed) return;
      if (event.id <= this.cursor) continue;
      this.cursor = event.id;
      this.write(eventFrame(event));
      if (this.sink.needsDrain()) await this.sink.drained();
    }
  }

  /** Ends the replay: writes what arrived meanwhile and goes live. */
  goLive(): void {
    this.replaying = false;
    const queued = this.queue;
    this.queue = [];
    for (const event of queued) this.deliver(event);
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.sink.end();
    this.onClose(this, reason);
  }
}
