'use strict';
/*
 * wasitest's Node.js runner: runs WASI preview 1 modules with `node:wasi`, one job at a time.
 *
 * Started once per wasitest worker process as
 *   node --no-turbo-fast-api-calls node_runner.js
 * and fed jobs as JSON lines on stdin; it answers each with one JSON line on stdout. Its
 * first line is a greeting: {"ready": true, "pid": N, "node": "v20.x.y"}.
 *
 * Job:    {"id", "module", "args": [...], "env": [[k, v], ...], "preopens": [[guest, host], ...],
 *          "stdin": path|null, "stdout": path, "stderr": path, "timeout_ms"}
 * Answer: {"id", "status", "duration_ms", "total_ms", "retire"?, ...} where duration_ms is
 * the job's time in the Worker (WASI set-up, instantiation, run; up to the kill on a
 * timeout), total_ms includes loading the module and opening files, and status is
 *   "exit"    the module ran to its end or called proc_exit: "exit_code"
 *   "threw"   something was thrown while instantiating or running: "phase" ("instantiate"
 *             or "start"), "name" (RuntimeError, RangeError, ...) and "message"
 *   "timeout" the job ran past timeout_ms and its Worker was terminated
 *   "error"   the module could not be run at all (unreadable, not a module, no _start,
 *             a bad preopen, the Worker died): "message"
 * "retire" asks the caller to replace this runner: "fds" when file descriptors leaked by
 * terminated jobs piled up (close its stdin, it exits), "stuck" when a timed-out Worker
 * could not be stopped, being blocked in a host call such as a long sleep (kill it: Node
 * waits for its Workers at exit).
 *
 * Modules are compiled once per path + mtime + size (LRU of MAX_MODULES) and posted to a
 * long-lived Worker, which builds a fresh WASI object and a fresh instance for every job,
 * so no state of one job reaches the next. The Worker is replaced after a timeout.
 *
 * File descriptors: the main thread opens the job's stdio files and hands their numbers to
 * WASI. uvwasi never closes what it holds (the preopened directories, files the guest left
 * open, the stdio it was given) when a WASI object goes away, so after each job the Worker
 * closes every descriptor through the guest-facing `fd_close`; the main thread then closes
 * whatever of its own is still open, checking by inode that the number was not reused.
 * The guest's stdio never falls back to the runner's own fds 0-2 (the protocol pipes).
 */

const fs = require('node:fs');
const os = require('node:os');
const readline = require('node:readline');
const { performance } = require('node:perf_hooks');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const { WASI } = require('node:wasi');

const MAX_MODULES = 16;
/** How long a terminated Worker may take to stop before the runner asks to be replaced. */
const TERMINATE_GRACE_MS = 1000;
/** Leaked descriptors tolerated before the runner asks to be replaced. */
const FD_LEAK_LIMIT = 256;
/** `fd_close` misses in a row (above fd 2) after which no more guest fds are expected. */
const FD_SCAN_MISSES = 64;
const WASI_EBADF = 8;

/** (module (memory (export "memory") 0) (func (export "_start"))): lets WASI be "started"
 * when the real module failed to instantiate, so that its fds can still be closed. */
const EMPTY_COMMAND = Buffer.from(
  '0061736d01000000010401600000030201000503010000071302066d656d6f727902' +
  '00065f737461727400000a040102000b', 'hex');

/**
 * An object whose keys enumerate in the order given. Plain objects list integer-like keys
 * ("10") first, which would reorder the guest's environment; WASI reads keys with
 * Object.entries, which follows a Proxy's ownKeys. Later duplicates win, as in a dict.
 */
function ordered(pairs) {
  const target = {};
  for (const [key, value] of pairs) target[key] = String(value);
  const keys = [...new Set(pairs.map(([key]) => String(key)).reverse())].reverse();
  return new Proxy(target, { ownKeys: () => keys });
}

function errorText(err) {
  if (err && typeof err === 'object') return String(err.message || err);
  return String(err);
}

// ---------------------------------------------------------------------------------- worker

function workerMain() {
  const empty = new WebAssembly.Module(EMPTY_COMMAND);

  function closeAll(wasi, started) {
    if (!started) {
      try {
        wasi.start(new WebAssembly.Instance(empty, { wasi_snapshot_preview1: wasi.wasiImport }));
      } catch (err) {
        return;
      }
    }
    const close = wasi.wasiImport.fd_close;
    let misses = 0;
    for (let fd = 0; misses < FD_SCAN_MISSES; fd++) {
      const errno = close(fd);
      if (errno === 0) misses = 0;
      else if (fd > 2 && errno === WASI_EBADF) misses++;
    }
  }

  /* node:wasi checks paths lexically, but the host resolves `..` after following a link:
   * links that each look inside (x -> ".", up -> "x/..") chain out of the preopen. Only
   * links whose target is relative and made of plain names are allowed: each such step goes
   * at least as deep on disk as on paper, so no chain of them can leave. (EPERM = 63.) */
  function benignTarget(target) {
    return target.length > 0 && !target.startsWith('/') &&
      target.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
  }

  function guardedImports(wasi) {
    const imports = Object.assign({}, wasi.wasiImport);
    imports.path_symlink = (oldPtr, oldLen, fd, newPtr, newLen) => {
      const memory = imports.memory;
      if (!memory) return 63;
      const target = Buffer.from(memory.buffer, oldPtr, oldLen).toString('utf8');
      if (!benignTarget(target)) return 63;
      return wasi.wasiImport.path_symlink(oldPtr, oldLen, fd, newPtr, newLen);
    };
    return imports;
  }

  parentPort.on('message', (job) => {
    const t0 = performance.now();
    let wasi;
    try {
      wasi = new WASI({
        version: 'preview1',
        args: job.args,
        env: ordered(job.env),
        preopens: ordered(job.preopens),
        returnOnExit: true,
        stdin: job.fds[0],
        stdout: job.fds[1],
        stderr: job.fds[2],
      });
    } catch (err) {
      parentPort.postMessage({ status: 'error', message: `cannot set up WASI: ${errorText(err)}` });
      return;
    }
    let answer;
    let started = false;
    let phase = 'instantiate';
    try {
      const imports = guardedImports(wasi);
      const instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: imports });
      imports.memory = instance.exports.memory;
      phase = 'start';
      started = true;
      answer = { status: 'exit', exit_code: wasi.start(instance) };
    } catch (err) {
      const name = err && err.constructor ? err.constructor.name : typeof err;
      answer = { status: 'threw', phase, name, message: errorText(err) };
    }
    answer.duration_ms = performance.now() - t0;
    try {
      closeAll(wasi, started);
    } catch (err) {
      // best effort: the main thread's fd check is the safety net
    }
    parentPort.postMessage(answer);
  });
}

// ------------------------------------------------------------------------------- main thread

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
  const exports = WebAssembly.Module.exports(module);
  const kinds = new Map(exports.map((e) => [e.name, e.kind]));
  let problem = null;
  if (kinds.get('_start') !== 'function') problem = 'the module does not export a _start function (not a WASI command)';
  else if (kinds.get('memory') !== 'memory') problem = 'the module does not export its memory as "memory", which node:wasi needs';
  else if (kinds.has('_initialize')) problem = 'the module exports both _start and _initialize, which node:wasi refuses';
  if (problem) throw new Error(problem);
  modules.delete(path);
  modules.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, module });
  while (modules.size > MAX_MODULES) modules.delete(modules.keys().next().value);
  return module;
}

function countFds() {
  try {
    return fs.readdirSync('/dev/fd').length;
  } catch (err) {
    return 0; // no /dev/fd (Windows): no leak detection
  }
}

class Runner {
  constructor() {
    this.worker = null;
    this.current = null; // the Worker running the job in flight
    this.pending = null; // {resolve} of the job in flight
    this.baseFds = 0;
    this.retire = null;
  }

  spawn() {
    const worker = new Worker(__filename);
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

  openStdio(job) {
    const fds = [];
    try {
      fds.push(fs.openSync(job.stdin || os.devNull, 'r'));
      fds.push(fs.openSync(job.stdout, 'w'));
      fds.push(fs.openSync(job.stderr, 'w'));
    } catch (err) {
      this.closeStdio(fds.map((fd) => [fd, fs.fstatSync(fd)]));
      throw err;
    }
    return fds.map((fd) => [fd, fs.fstatSync(fd)]);
  }

  /** Close the stdio fds that are still ours: same number, same file. */
  closeStdio(opened) {
    for (const [fd, stat] of opened) {
      try {
        const now = fs.fstatSync(fd);
        if (now.ino === stat.ino && now.dev === stat.dev) fs.closeSync(fd);
      } catch (err) {
        // EBADF: the Worker (or the guest) already closed it
      }
    }
  }

  async run(job) {
    const t0 = performance.now();
    let module;
    try {
      module = await compiled(job.module);
    } catch (err) {
      return { status: 'error', message: `cannot load ${job.module}: ${errorText(err)}` };
    }
    let opened;
    try {
      opened = this.openStdio(job);
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
      const stopped = await Promise.race([
        worker.terminate().then(() => true, () => true),
        new Promise((resolve) => setTimeout(() => resolve(false), TERMINATE_GRACE_MS).unref()),
      ]);
      if (!stopped) {
        // Stuck in a host call: only ending the process stops it. Its fds stay open so
        // that it cannot write into files of a later job that reuse their numbers.
        this.retire = 'stuck';
        opened = [];
      } else {
        this.spawn(); // boots while the answer travels back
      }
    }
    this.closeStdio(opened);
    answer.total_ms = performance.now() - t0;
    if (!this.retire && countFds() > this.baseFds + FD_LEAK_LIMIT) this.retire = 'fds';
    if (this.retire) answer.retire = this.retire;
    return answer;
  }
}

function mainThread() {
  const runner = new Runner();
  const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
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
    if (closed) finish();
  }

  function finish() {
    if (runner.worker) runner.worker.terminate();
    process.exit(0);
  }

  runner.spawn(); // start the Worker's boot while the first job is on its way
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
    if (!busy) finish();
  });
  write({ ready: true, pid: process.pid, node: process.version });
}

if (isMainThread) mainThread();
else workerMain();
