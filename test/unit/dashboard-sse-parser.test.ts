import { describe, expect, it } from 'vitest';
import { createSseParser, type SseFrame } from '../../src/dashboard/sse.js';

const parse = (chunks: string[], lastEventId = '') => {
  const frames: SseFrame[] = [];
  const parser = createSseParser((f) => frames.push(f), lastEventId);
  for (const chunk of chunks) parser.push(chunk);
  return { frames, parser };
};

describe('dashboard SSE parser', () => {
  it('reads taskhub frames: ready without id, events with id, pings ignored', () => {
    const { frames } = parse([
      'event: ready\ndata: {"type":"ready","lastEventId":3}\n\n',
      ': ping\n\n',
      'id: 4\nevent: task.assigned\ndata: {"id":4}\n\n',
    ]);
    expect(frames).toEqual([
      { event: 'ready', data: '{"type":"ready","lastEventId":3}', lastEventId: '' },
      { event: 'task.assigned', data: '{"id":4}', lastEventId: '4' },
    ]);
  });

  it('joins frames split anywhere across chunks, including between \\r and \\n', () => {
    const text = 'id: 7\r\nevent: task.claimed\r\ndata: {"a":1}\r\n\r\nid: 8\r\ndata: x\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { frames } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(frames, `cut at ${cut}`).toEqual([
        { event: 'task.claimed', data: '{"a":1}', lastEventId: '7' },
        { event: 'message', data: 'x', lastEventId: '8' },
      ]);
    }
  });

  it('joins data lines with newlines, keeps the id across frames, reads retry, skips frames without data', () => {
    const { frames, parser } = parse(['retry: 2500\nid: 9\nevent: nothing\n\ndata: a\ndata:b\n\n'], '5');
    expect(frames).toEqual([{ event: 'message', data: 'a\nb', lastEventId: '9' }]);
    expect(parser.retryMs()).toBe(2500);
  });

  it('holds an unfinished frame until its blank line arrives', () => {
    const { frames, parser } = parse(['id: 1\ndata: {"partial"']);
    expect(frames).toEqual([]);
    parser.push(':true}\n\n');
    expect(frames).toEqual([{ event: 'message', data: '{"partial":true}', lastEventId: '1' }]);
  });
});
