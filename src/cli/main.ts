#!/usr/bin/env node
// The `taskhub` command. Exit codes: see EXIT in output.ts and docs/clients.md.
import { run } from './program.js';

process.exitCode = await run(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
