// The Node gate: node --test with worker threads and child processes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

const FAIL = process.env.GATE_VARIANT === 'fail';

test('worker_threads compute in parallel', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    let s = 0;
    for (let i = workerData.from; i < workerData.to; i++) s += i * i;
    parentPort.postMessage(s);`;
  const parts = await Promise.all([0, 50].map((from) => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { from, to: from + 50 } });
    w.on('message', resolve);
    w.on('error', reject);
  })));
  assert.equal(parts[0] + parts[1], FAIL ? 328351 : 328350);
});

test('child_process runs programs', async () => {
  assert.equal(execFileSync('/bin/sh', ['-c', 'echo $((6 * 7))']).toString(), '42\n');
  const code = await new Promise((resolve) => spawn('/bin/true').on('exit', resolve));
  assert.equal(code, 0);
});
