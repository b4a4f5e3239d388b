/*
 * wasitest's generic JavaScript job runner, shared by the WASI runtimes that run inside a
 * JavaScript engine and a Worker thread: Bun's `node:wasi` (under `bun`) and
 * @bjorn3/browser_wasi_shim (under `node`).
 *
 *   node|bun js_runner.mjs WORKER.mjs [--terminate-grace-ms=N] [--worker-data=JSON]
 *
 * It speaks the same JSON-lines protocol as node_runner.js: a greeting
 * {"ready": true, "pid": N, "engine": "..."} first, then one answer line per job line.
 *
 * Job:    {"id", "module", "args": [...], "env": [[k, v], ...], "preopens": [[guest, host], ...],
 *          "stdin": path|null, "stdout": path, "stderr": path, "timeout_ms"}
 * Answer: {"id", "status", "duration_ms", "retire"?, ...}; status is "exit" ("exit_code"),
 *         "threw" ("phase", "name", "message"), "timeout", or "error" ("message").
 *
 * This file owns the parts every such runtime shares: compiling each module once (per path,
 * mtime and size), opening the job's stdio files, posting the job to a long-lived Worker,
 * and the time limit. WORKER.mjs owns the WASI side: it gets {module, args, env, preopens,
 * fds: [stdin, stdout, stderr], data} per job and posts one answer back. It must build a
 * fresh WASI object and instance for every job.
 *
 * Time limit: when a job runs past timeout_ms its Worker is terminated and a new one is
 * started for the next job. Bun cannot terminate a Worker that is running WebAssembly (the
 * promise never settles), so its adapter passes --terminate-grace-ms=0: the runner answers
 * "timeout" with "retire": true at once and the caller replaces the whole process; that
 * `process.exit` does stop Bun with a spinning Worker.
 */

import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';

const MAX_MODULES = 16;
const FD_LEAK_LIMIT = 256;

function option(name, fallback) {
  const prefix = `--${name}=`;
  const found = process.argv.slice(3).find((arg) => arg.startsWith(prefix));
  return found === undefined ? fallback : found.slice(prefix.length);
}

const WORKER = process.argv[2];
const TERMINATE_GRACE_MS = Number(option('terminate-grace-ms', '2000'));
const WORKER_DATA = JSON.parse(option('worker-data', '{}'));

function errorText(err) {
  if (err && typeof err === 'object') return String(err.message || err);
  return String(err);
}

const modules = new Map(); // path -> {mtimeMs, size, module}

async function compiled(path) {
  const stat = fs.statSync(path);
  const hit = modules.get(path);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) {
    modules.delete(path); // re-insert: Map order is the LRU order
    modules.set(path, hit);
    return hit.module;
  }
  const module = await WebAssembly.compile(fs.readFileSync(path));
  const kinds = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (kinds.get('_start') !== 'function') {
    throw new Error('the module does not export a _start function (not a WASI command)');
  }
  if (kinds.get('memory') !== 'memory') {
    throw new Error('the module does not export its memory as "memory", which the WASI shim needs');
  }
  modules.delete(path);
  modules.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, module });
  while (modules.size > MAX_MODULES) modules.delete(modules.keys().next().value);
  return module;
}

function countFds() {
  try {
    return fs.readdirSync('/dev/fd').length;
  } catch (err) {
    return 0;
  }
}

function openStdio(job) {
  const opened = [];
  try {
    for (const [path, flags] of [[job.stdin || os.devNull, 'r'], [job.stdout, 'w'], [job.stderr, 'w']]) {
      const fd = fs.openSync(path, flags);
      opened.push([fd, fs.fstatSync(fd)]);
    }
  } catch (err) {
    closeStdio(opened);
    throw err;
  }
  return opened;
}

/** Close the stdio fds that are still ours: same number, same file. */
function closeStdio(opened) {
  for (const [fd, stat] of opened) {
    try {
      const now = fs.fstatSync(fd);
      if (now.ino === stat.ino && now.dev === stat.dev) fs.closeSync(fd);
    } catch (err) {
      // EBADF: the Worker (or the guest) already closed it
    }
  }
}

class Runner {
  constructor() {
    this.worker = null;
    this.current = null;
    this.pending = null;
    this.baseFds = 0;
    this.retire = false;
  }

  spawn() {
    const worker = new Worker(WORKER, { workerData: WORKER_DATA });
    worker.on('message', (msg) => this.settle(worker, msg));
    worker.on('error', (err) => this.died(worker, `the Worker died: ${errorText(err)}`));
    worker.on('exit', (code) => this.died(worker, `the Worker exited with code ${code}`));
    this.worker = worker;
  }

  died(worker, message) {
    if (this.worker === worker) this.worker = null;
    this.settle(worker, { status: 'error', message });
  }

  settle(worker, msg) {
    if (worker !== this.current || !this.pending) return;
    const { resolve } = this.pending;
    this.pending = null;
    resolve(msg);
  }

  async run(job) {
    let module;
    try {
      module = await compiled(job.module);
    } catch (err) {
      return { status: 'error', message: `cannot load ${job.module}: ${errorText(err)}` };
    }
    let opened;
    try {
      opened = openStdio(job);
    } catch (err) {
      return { status: 'error', message: `cannot open the job's stdio files: ${errorText(err)}` };
    }
    if (!this.worker) this.spawn();
    const worker = this.worker;
    this.current = worker;
    const started = performance.now();
    let timer;
    const answer = await new Promise((resolve) => {
      this.pending = { resolve };
      timer = setTimeout(() => this.settle(worker, { status: 'timeout' }), job.timeout_ms);
      worker.postMessage({
        module,
        args: job.args,
        env: job.env,
        preopens: job.preopens,
        fds: opened.map(([fd]) => fd),
      });
    });
    clearTimeout(timer);
    this.current = null;
    if (answer.duration_ms === undefined) answer.duration_ms = performance.now() - started;
    if (answer.status === 'timeout') {
      if (this.worker === worker) this.worker = null;
      let stopped = false;
      if (TERMINATE_GRACE_MS > 0) {
        stopped = await Promise.race([
          worker.terminate().then(() => true, () => true),
          new Promise((resolve) => setTimeout(() => resolve(false), TERMINATE_GRACE_MS).unref()),
        ]);
      }
      if (!stopped) {
        // Still running guest code: only ending the process stops it. Its fds stay open so
        // that it cannot write into files of a later job that reuse their numbers.
        this.retire = true;
        opened = [];
      }
    }
    closeStdio(opened);
    if (countFds() > this.baseFds + FD_LEAK_LIMIT) this.retire = true;
    if (this.retire) answer.retire = true;
    return answer;
  }
}

function main() {
  // The protocol is written to fd 1 directly; anything else bound for stdout (console output
  // of this thread, or of Workers, which Node forwards through process.stdout) goes to the
  // log on stderr instead of corrupting it.
  process.stdout.write = (...args) => process.stderr.write(...args);
  const runner = new Runner();
  const write = (obj) => fs.writeSync(1, JSON.stringify(obj) + '\n');
  const queue = [];
  let busy = false;
  let closed = false;

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const line = queue.shift();
      let job;
      try {
        job = JSON.parse(line);
      } catch (err) {
        write({ id: null, status: 'error', message: `bad job line: ${errorText(err)}` });
        continue;
      }
      let answer;
      try {
        answer = await runner.run(job);
      } catch (err) {
        answer = { status: 'error', message: `runner failure: ${errorText(err)}` };
      }
      write({ id: job.id, ...answer });
    }
    busy = false;
    if (closed) process.exit(0);
  }

  runner.spawn();
  runner.baseFds = countFds();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim()) {
      queue.push(line);
      pump();
    }
  });
  lines.on('close', () => {
    closed = true;
    if (!busy) process.exit(0);
  });
  const engine = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : `node ${process.versions.node}`;
  write({ ready: true, pid: process.pid, engine });
}

main();
