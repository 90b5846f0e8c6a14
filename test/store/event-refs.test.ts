import { describe, expect, it } from 'vitest';
import { presentTask } from '../../src/hub/present.js';
import { EVENT_INLINE_VALUE_CHARS, compactTaskEventData } from '../../src/store/event-refs.js';
import { forEachStore } from './backends.js';
import { newEvent, newTask } from './fixtures.js';

// What the hub hands every backend (src/hub/task-events.ts): the full data, and a compact form to store instead.
forEachStore((make) => {
  describe('events stored by reference', () => {
    it('gives back the full data on every read: agent replay, firehose, task history and the outbox', async () => {
      const { store } = await make();
      const big = 'p'.repeat(EVENT_INLINE_VALUE_CHARS * 4);
      const record = await store.tasks.insert(newTask({ payload: { big } }));
      const task = presentTask(record);
      const data = JSON.stringify({ taskId: record.id, task });
      const storedData = compactTaskEventData(task, {}, data.length);
      expect(storedData).toBeDefined();
      expect(storedData!.length).toBeLessThan(data.length / 2);
      const event = await store.events.append(
        newEvent('task.assigned', { taskId: record.id, taskSeq: record.seq, data, storedData: storedData! }),
      );
      expect(event.data).toBe(data);
      expect(event).not.toHaveProperty('storedData');
      expect((await store.events.listForAgent('worker', 0, 10))[0]?.data).toBe(data);
      expect((await store.events.listAll(0, 10))[0]?.data).toBe(data);
      expect((await store.events.listForTask(record.seq, 0, 10)).events[0]?.data).toBe(data);
      await store.outbox.enqueue(event.id, 'worker', 'w@x', 1_000);
      expect((await store.outbox.claimDue(2_000, 9_000))?.event.data).toBe(data);
    });

    it('cuts a task history page at maxChars of expanded data, always giving the first event', async () => {
      const { store } = await make();
      const record = await store.tasks.insert(newTask());
      const at = (n: number) => ({ taskId: record.id, taskSeq: record.seq, data: JSON.stringify({ n, pad: 'x'.repeat(90) }) });
      const ids = [];
      for (let n = 0; n < 4; n++) ids.push((await store.events.append(newEvent('task.progress', at(n)))).id);
      const size = JSON.stringify({ n: 0, pad: 'x'.repeat(90) }).length;
      expect(await store.events.listForTask(record.seq, 0, 10, size * 2)).toMatchObject({
        events: [{ id: ids[0] }, { id: ids[1] }],
        more: true,
      });
      expect(await store.events.listForTask(record.seq, 0, 10, 1)).toMatchObject({ events: [{ id: ids[0] }], more: true });
      expect(await store.events.listForTask(record.seq, ids[1]!, 10)).toMatchObject({
        events: [{ id: ids[2] }, { id: ids[3] }],
        more: false,
      });
    });
  });

  describe('dev mailbox bounds and previews', () => {
    const mail = (subject: string, text: string, json: unknown = null) =>
      ({ from: 'hub@x', to: 'a@x', subject, headers: {}, text, json, receivedAt: 1_000 });

    it('drops the oldest mails past the byte bound, counting bytes (not characters)', async () => {
      const { store } = await make();
      // Each mail: subject 1 byte + headers "{}" 2 bytes + text 100 bytes ('é' is 2 bytes in UTF-8).
      await store.devMailbox.add([mail('1', 'é'.repeat(50)), mail('2', 'é'.repeat(50)), mail('3', 'é'.repeat(50))], {
        maxMails: 10,
        maxBytes: 2 * 103,
      });
      const list = await store.devMailbox.listPreviews({ limit: 10, previewChars: 1_000 });
      expect(list.map((m) => m.subject)).toEqual(['3', '2']);
    });

    it('cuts previews at previewChars, pages with beforeId, and gets one mail whole', async () => {
      const { store } = await make();
      await store.devMailbox.add([mail('1', 'short'), mail('2', 'long '.repeat(20), { k: 'v'.repeat(50) })], {
        maxMails: 10,
        maxBytes: 1 << 20,
      });
      const [newest, oldest] = await store.devMailbox.listPreviews({ limit: 10, previewChars: 10 });
      expect(newest).toMatchObject({ subject: '2', text: 'long long ', cut: true, jsonText: '{"k":"vvvv' });
      expect(oldest).toMatchObject({ subject: '1', text: 'short', cut: false, jsonText: null });
      expect((await store.devMailbox.listPreviews({ limit: 10, previewChars: 10, beforeId: newest!.id })).map((m) => m.id)).toEqual([
        oldest!.id,
      ]);
      expect(await store.devMailbox.get(newest!.id)).toMatchObject({ text: 'long '.repeat(20), json: { k: 'v'.repeat(50) } });
      expect(await store.devMailbox.get(newest!.id + 1000)).toBeUndefined();
    });
  });
});
