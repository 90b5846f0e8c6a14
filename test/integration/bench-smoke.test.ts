import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runBench } from '../../scripts/bench/harness.js';
import { renderMarkdown, writeResults } from '../../scripts/bench/report.js';
import { SMOKE } from '../../scripts/bench/sizes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// The full bench takes minutes and belongs to `npm run bench`; this runs the same harness at tiny sizes so that
// it cannot rot. It asserts on correctness (every call answered, every task delivered once), never on speed.
it('the bench harness runs every measurement end to end at tiny sizes and writes its results', async () => {
  const results = await runBench({ sizes: SMOKE });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-bench-smoke-'));
  dirs.push(out);
  writeResults(out, results);

  expect(results.machine.cores).toBeGreaterThan(0);
  expect(results.floor!.count).toBe(SMOKE.roundtripCalls);
  expect(results.floorThroughput!.requestsPerS).toBeGreaterThan(0);
  expect(results.rpcRoundtrip!.count).toBe(SMOKE.roundtripCalls);
  expect(results.rpcRoundtrip!.p50OverFloor).toBeGreaterThan(0);
  expect(results.a2aRoundtrip!.count).toBe(SMOKE.roundtripCalls);
  expect(results.a2aRoundtrip!.p50OverRpc).toBeGreaterThan(0);
  // The run compared with BullMQ has one agent, as BullMQ has one worker process; the others have rpcAgents.
  expect([results.rpcThroughput!.agents, results.rpcThroughputAgents!.agents]).toEqual([1, SMOKE.rpcAgents]);
  expect(results.rpcThroughput!.errors).toBe(0);
  expect(results.rpcThroughput!.count).toBeGreaterThan(0);
  expect(results.rpcThroughput!.callsPerRequest).toBeGreaterThanOrEqual(1);
  expect(results.rpcThroughputAgents!.errors).toBe(0);
  expect(results.rpcThroughputAgents!.count).toBeGreaterThan(0);
  expect(results.rpcThroughputTokenEach!.errors).toBe(0);
  expect(results.rpcThroughputTokenEach!.count).toBeGreaterThan(0);
  const assign = results.assign!;
  expect(assign.created).toBeGreaterThan(0);
  expect({ errors: assign.errors, missing: assign.missing, duplicates: assign.duplicates }).toEqual({
    errors: 0,
    missing: 0,
    duplicates: 0,
  });
  expect(assign.delivered).toBe(assign.created);
  const streams = SMOKE.streamAgents * SMOKE.streamsPerAgent;
  expect(results.streams!.trivial.streams).toBe(streams);
  expect(results.streams!.hub.streams).toBe(streams);
  expect(results.streams!.trivial.broadcastMs).toHaveLength(SMOKE.broadcasts);
  expect(results.streams!.hub.broadcastMs).toHaveLength(SMOKE.broadcasts);
  expect(results.streams!.hub.duplicates).toBe(0);
  expect(results.email!.count).toBe(SMOKE.emailTasks);
  expect(results.email!.smtpHop.count).toBeGreaterThan(0);
  const webhooks = results.webhooks!;
  expect(webhooks.latency.count).toBe(SMOKE.roundtripCalls);
  expect(webhooks.barePost.count).toBe(SMOKE.roundtripCalls);
  expect(webhooks.created).toBeGreaterThan(0);
  expect({ missing: webhooks.missing, duplicates: webhooks.duplicates, drained: webhooks.drain.missing }).toEqual({ missing: 0, duplicates: 0, drained: 0 });
  // The BullMQ baseline runs wherever redis-server is installed, and says it was skipped where it is not.
  const bullmq = results.bullmq!;
  if (bullmq.skipped === undefined) {
    expect(bullmq.roundtrip!.count).toBe(SMOKE.roundtripCalls);
    expect(bullmq.throughput!.errors).toBe(0);
    expect(bullmq.throughput!.count).toBeGreaterThan(0);
    expect(bullmq.throughput!.cpu.hubCpuUsPerOp).toBeGreaterThan(0);
    expect(renderMarkdown(results)).toContain('| RPC vs BullMQ: sequential round trip');
  } else {
    expect(renderMarkdown(results)).toContain('BullMQ baseline skipped');
  }

  const saved = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as typeof results;
  expect(saved.sizes).toEqual(SMOKE);
  expect(fs.readFileSync(path.join(out, 'results.md'), 'utf8')).toBe(renderMarkdown(results));
  expect(renderMarkdown(results)).toContain('| RPC round trip p50 / p99');
}, 180_000);
