/**
 * Where a hub's CPU went, by part of the request path, from a V8 `.cpuprofile` (`node --cpu-prof`):
 * `npx tsx scripts/bench/profile-breakdown.ts FILE.cpuprofile [--per N --us-per-op U]`. Each sample goes to the
 * innermost frame on its stack that a rule below claims (a zod parse called from a route counts as validation,
 * the route's own code as routing; an SSE write with everything under it), so the parts add up to the busy time. With `--us-per-op` (the bench's hub
 * CPU per operation) every part is also shown in µs per operation.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface Frame { functionName: string; url: string }
interface ProfileNode { id: number; callFrame: Frame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Innermost match wins; order only matters between rules that can claim the same frame. */
const RULES: Array<[part: string, claims: (f: Frame, caller: Frame | undefined) => boolean]> = [
  ['startup (module loading)', (f) => /compileSourceTextModule|wrapSafe|makeSyncRequest|waitForWorker/.test(f.functionName) || /node:internal\/modules|npm:tsx|cjs-module-lexer/.test(f.url)],
  // The batch's COMMIT is the group commit's one function run from a timer (`setImmediate`); tsx leaves it nameless.
  ['SQLite: COMMIT (group commit: WAL writes, checkpoints)', (f, caller) => f.url.includes('store/sqlite/group-commit') && caller?.functionName === 'processImmediate'],
  ['SQLite: BEGIN / SAVEPOINT / RELEASE', (f) => f.url.includes('store/sqlite/group-commit')],
  ['SQLite: statements (tasks, events, agents)', (f) => f.url.includes('/store/sqlite/')],
  ['PostgreSQL: driver (pg, pg-protocol: messages built and parsed)', (f) => /node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-array|pg-connection-string)\//.test(f.url)],
  ['PostgreSQL: store (group commit, sessions, feed)', (f) => f.url.includes('/store/postgres/')],
  ['auth: JWT verify + token version', (f) => f.url.includes('hub/tokens') || f.url.includes('jsonwebtoken') || f.url.includes('jws') || f.url.includes('http/auth')],
  ['validation (zod)', (f) => f.url.includes('node_modules/zod') || f.url.includes('http/validate')],
  ['body read + JSON.parse (body-parser, limits check)', (f) => /body-parser|raw-body|iconv-lite|content-type|media-typer|type-is/.test(f.url) || f.url.includes('json-body') || f.url.includes('json-limits')],
  ['JSON encode of answers (res.json)', (f) => f.url.includes('express/lib/response') && /stringify|json/.test(f.functionName)],
  ['metrics + request log', (f) => f.url.includes('prom-client') || f.url.includes('http/metrics') || f.url.includes('request-log') || f.url.includes('pino')],
  ['Express + router (middleware chain, res helpers)', (f) => /node_modules\/(express|router|parseurl|path-to-regexp|finalhandler|send|serve-static|on-finished|cors)\//.test(f.url)],
  ['hub: tasks, events, rpc waiters', (f) => /\/(src|dist)\/(hub|rpc|domain)\//.test(f.url)],
  ['HTTP routes + app glue', (f) => /\/(src|dist)\/(http|a2a)\//.test(f.url)],
  ['node:http + sockets (parse, write, writev)', (f) => /node:_http|node:net|stream_base_commons|node:internal\/streams|node:stream/.test(f.url) || /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(f.functionName)],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
];

const SSE_WRITE = 'SSE write (frame, registry, socket write)';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'us-per-op': { type: 'string' } } });
const profile = JSON.parse(fs.readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const partOfNode = new Map<number, string>();
const partOf = (id: number): string => {
  const known = partOfNode.get(id);
  if (known) return known;
  let part = 'other (node internals, timers, promises)';
  // An SSE write counts whole, its socket write included: what one pushed event costs.
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    if (byId.get(at)!.callFrame.url.includes('transport/sse')) {
      partOfNode.set(id, SSE_WRITE);
      return SSE_WRITE;
    }
  }
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const up = parent.get(at);
    const rule = RULES.find(([, claims]) => claims(byId.get(at!)!.callFrame, up === undefined ? undefined : byId.get(up)!.callFrame));
    if (rule) {
      part = rule[0];
      break;
    }
  }
  partOfNode.set(id, part);
  return part;
};

const parts = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const part = partOf(id);
  parts.set(part, (parts.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const excluded = new Set(['idle', 'startup (module loading)']);
const busy = [...parts].filter(([p]) => !excluded.has(p)).reduce((sum, [, us]) => sum + us, 0);
const perOp = values['us-per-op'] ? Number(values['us-per-op']) : undefined;
console.log(`busy ${(busy / 1000).toFixed(0)} ms (idle and startup left out)${perOp ? `, scaled to ${perOp} µs per operation` : ''}`);
for (const [part, us] of [...parts].sort((a, b) => b[1] - a[1])) {
  if (excluded.has(part)) continue;
  const share = us / busy;
  console.log(`${(share * 100).toFixed(1).padStart(5)}%${perOp ? `  ${String(Math.round(share * perOp)).padStart(4)} µs` : ''}  ${part}`);
}
