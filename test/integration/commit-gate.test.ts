import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { batchChanges, holdUntilCommitted } from '../../src/http/commit-gate.js';
import { createStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
let server: http.Server;
let url: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-gate-'));
  store = createStore(path.join(dir, 'taskhub.db'));
  // A deferred foreign key is checked at COMMIT: a real way to make a group commit fail.
  store.db.exec(`CREATE TABLE notes (text TEXT NOT NULL,
    ref TEXT REFERENCES agents (name) DEFERRABLE INITIALLY DEFERRED) STRICT`);
  const note = store.db.prepare('INSERT INTO notes (text, ref) VALUES (?, ?)');
  const app = express();
  app.use(holdUntilCommitted(store), express.json(), batchChanges(store));
  app.post('/notes', (req, res) => {
    const { text, ref } = req.body as { text: string; ref: string | null };
    store.transaction(() => note.run(text, ref));
    // Still waiting for the batch's commit when the route answers.
    res.json({ pending: store.pending() });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const post = async (body: object) => {
  const res = await fetch(`${url}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const notes = () => store.db.prepare('SELECT text FROM notes ORDER BY rowid').pluck().all();

it('answers a batched change only once it is committed', async () => {
  const answer = await post({ text: 'kept', ref: null });
  expect(answer).toEqual({ status: 200, body: { pending: true } });
  expect(store.pending()).toBe(false);
  expect(notes()).toEqual(['kept']);
});

it('turns the held answer into 500 internal_error when the commit fails, and keeps nothing of it', async () => {
  const answer = await post({ text: 'dangling', ref: 'nobody' });
  expect(answer.status).toBe(500);
  expect(answer.body.error.code).toBe('internal_error');
  expect(notes()).toEqual([]);
  expect((await post({ text: 'next', ref: null })).status).toBe(200);
  expect(notes()).toEqual(['next']);
});
