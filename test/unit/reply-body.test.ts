import { describe, expect, it } from 'vitest';
import { parseReplySubject, parseResult, stripReply } from '../../src/transport/email/reply-body.js';

const ID = '0b6e1d4c-3f57-4a8e-9a43-0c2f5d6e7a81';

describe('reply subjects', () => {
  it('reads each command, with or without the id, after any Re:/Fwd:/[tag]', () => {
    expect(parseReplySubject(`ACK:${ID}`)).toEqual({ command: 'ack', id: ID });
    expect(parseReplySubject(`status: ${ID.toUpperCase()}`)).toEqual({ command: 'status', id: ID });
    expect(parseReplySubject(`Re: RE: [team] RESULT:${ID} done`)).toEqual({ command: 'result', id: ID });
    expect(parseReplySubject('AW: Fwd: ERROR:')).toEqual({ command: 'error' });
  });

  it('takes any other subject for a plain reply', () => {
    expect(parseReplySubject(`Re: TASK:${ID} write the report`)).toEqual({ command: 'reply' });
    expect(parseReplySubject('')).toEqual({ command: 'reply' });
    expect(parseReplySubject('Results attached')).toEqual({ command: 'reply' });
    expect(parseReplySubject('acknowledged')).toEqual({ command: 'reply' });
  });
});

describe('reply bodies', () => {
  it('drops quoted history after "On … wrote:", even when the line is wrapped', () => {
    expect(stripReply('Done.\n\nOn Mon, 1 Jan 2026 at 10:00, taskhub <taskhub@x> wrote:\n> TASK\n> more')).toBe('Done.');
    expect(stripReply('Done.\nOn Mon, 1 Jan 2026 at 10:00, a very long name\n<taskhub@x> wrote:\nquoted')).toBe('Done.');
    expect(stripReply('Erledigt.\nAm 1. Jan. 2026 schrieb taskhub <t@x>:\n> alt')).toBe('Erledigt.');
  });

  it('drops lines quoted with ">" and everything from the signature or an original-message marker on', () => {
    expect(stripReply('> old\nnew line\n>> older\nsecond')).toBe('new line\nsecond');
    expect(stripReply('answer\n-- \nJane\nACME')).toBe('answer');
    expect(stripReply('answer\n--\nJane')).toBe('answer');
    expect(stripReply('answer\r\n\r\n-----Original Message-----\r\nFrom: x')).toBe('answer');
  });

  it('keeps a body with none of these as it is, trimmed', () => {
    expect(stripReply('  line one\nOnly here, nobody wrote anything\n')).toBe('line one\nOnly here, nobody wrote anything');
    expect(stripReply('a -- b')).toBe('a -- b');
  });

  it('reads a result as JSON when it is JSON, as text otherwise, as null when empty', () => {
    expect(parseResult('{"rows": [1, 2]}')).toEqual({ rows: [1, 2] });
    expect(parseResult('42')).toBe(42);
    expect(parseResult('It worked')).toBe('It worked');
    expect(parseResult('')).toBeNull();
    // JSON the HTTP routes would refuse stays the text it is (issue 15, item 3).
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(parseResult(deep)).toBe(deep);
    expect(parseResult('{"n": 1e400}')).toBe('{"n": 1e400}');
  });
});
