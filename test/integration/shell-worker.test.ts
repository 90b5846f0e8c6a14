import { describe, expect, it } from 'vitest';
import type { Task, WorkerContext } from '../../src/client/index.js';
import { parseOutput, shellHandler } from '../../src/cli/shell-worker.js';

const task = { id: 't1', task: 'do', capability: 'cap', assigner: 'boss', priority: 'high' } as Task;
/** The error a run ends with (undefined if it succeeded). */
const failureOf = (run: unknown) => Promise.resolve(run).then(() => undefined, (e: Error) => e);
const ctx = (signal = new AbortController().signal): WorkerContext => ({ task, signal, progress: async () => undefined });

describe('shell worker', () => {
  it('reads stdout as JSON when it parses, else as text', () => {
    expect(parseOutput('{"a":1}\n')).toEqual({ a: 1 });
    expect(parseOutput(' 42 \n')).toBe(42);
    expect(parseOutput('two words\n')).toBe('two words');
    expect(parseOutput('keeps  inner\nlines\n')).toBe('keeps  inner\nlines');
    expect(parseOutput('\n')).toBeNull();
  });

  it('passes the payload on stdin and the task in the environment', async () => {
    const run = shellHandler(['cat; echo " $TASKHUB_TASK_ID $TASKHUB_TASK $TASKHUB_CAPABILITY $TASKHUB_ASSIGNER $TASKHUB_PRIORITY"'], { env: process.env });
    expect(await run({ x: 1 }, ctx())).toBe('{"x":1} t1 do cap boss high');
  });

  it('runs several arguments as an argv, without a shell', async () => {
    expect(await shellHandler(['node', '-e', 'process.stdout.write(JSON.stringify(process.argv.length))', '$HOME'], { env: process.env })(null, ctx())).toBe(2);
  });

  it('fails with the exit status and the tail of stderr', async () => {
    const run = shellHandler([`node -e "process.stderr.write('x'.repeat(5000) + 'END'); process.exit(7)"`], { env: process.env });
    const error = await failureOf(run(null, ctx()));
    expect(String(error)).toMatch(/command failed \(exit code 7\): x+END$/);
    expect(String(error).length).toBeLessThan(2100);
  });

  it('says so when the command cannot be started', async () => {
    const error = await failureOf(shellHandler(['/no/such/program', 'arg'], { env: process.env })(null, ctx()));
    expect(String(error)).toContain('cannot run /no/such/program');
  });

  it('stops the command and what it started when aborted, and on its timeout', async () => {
    const controller = new AbortController();
    const running = shellHandler(['sleep 30 & wait'], { env: process.env })(null, ctx(controller.signal));
    setTimeout(() => controller.abort(new Error('cancelled by test')), 100);
    await expect(Promise.resolve(running)).rejects.toThrow('cancelled by test');
    await expect(Promise.resolve(shellHandler(['sleep 30'], { env: process.env, timeoutMs: 100 })(null, ctx()))).rejects.toThrow('timed out after 0.1 s');
  });

  it('refuses output over the limit', async () => {
    const run = shellHandler(['head -c 1100000 /dev/zero | tr "\\\\0" a'], { env: process.env });
    await expect(Promise.resolve(run(null, ctx()))).rejects.toThrow('command output is over 1000000 bytes');
  });
});
