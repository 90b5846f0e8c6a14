import fs from 'node:fs';
import pg from 'pg';
import { call, type Client, as } from './api.js';
import { startChildHub, type ChildHub } from './child-hub.js';
import { makeDataDir } from './hub.js';

/** The secret every hub process on one test database signs and verifies with. */
export const SHARED_SECRET = 'the secret every hub process on this database shares';

export interface HubProcess extends ChildHub {
  /** `TASKHUB_HUB_ID` of this process. */
  id: string;
  /** An admin token (any hub's verifies on every other: they share the secret). */
  adminToken(): string;
}

/**
 * Real hub processes (`src/main.ts` through tsx) on one PostgreSQL database, each with a data dir of its own,
 * started at once. `stop()` ends every one still running (SIGTERM, then SIGKILL after 5 s) and removes the dirs;
 * a start that fails part-way stops the processes that did start.
 */
export async function startHubProcesses(
  databaseUrl: string,
  ids: string[],
  env: Record<string, string> | ((id: string) => Record<string, string>) = {},
) {
  const dirs = ids.map(() => makeDataDir());
  const started = await Promise.allSettled(
    ids.map((id, i) =>
      startChildHub(dirs[i]!, {
        TASKHUB_DATABASE_URL: databaseUrl,
        TASKHUB_JWT_SECRET: SHARED_SECRET,
        TASKHUB_HUB_ID: id,
        ...(typeof env === 'function' ? env(id) : env),
      }),
    ),
  );
  const hubs = started.flatMap((s, i) => (s.status === 'fulfilled' ? [{ ...s.value, id: ids[i]! }] : []));
  const stop = async () => {
    await Promise.all(
      hubs.map(async (hub) => {
        const bound = setTimeout(() => hub.proc.kill('SIGKILL'), 5000);
        await hub.kill('SIGTERM');
        clearTimeout(bound);
      }),
    );
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { hubs: hubs as HubProcess[], stop };
}

/** Creates an agent through `hub` and returns a client acting as it on that hub. */
export async function addAgentOn(hub: HubProcess, name: string, fields: { email?: string } = {}) {
  const res = await call(hub, hub.adminToken(), 'POST', '/api/agents', { name, ...fields });
  if (res.status !== 201) throw new Error(`creating agent ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { name, token: res.body.token as string };
}

/** The same agent's client on another hub. */
export const on = (hub: Pick<HubProcess, 'url'>, agent: { token: string }): Client => as(hub, agent.token);

/** Every event id addressed to `agent`, ascending: the list a client resuming from 0 must see, read from the database. */
export async function eventIdsOf(databaseUrl: string, agent: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      'SELECT event_id AS id FROM event_recipients WHERE agent = $1 ORDER BY event_id',
      [agent],
    );
    return rows.map((r) => Number(r.id));
  } finally {
    await client.end();
  }
}
