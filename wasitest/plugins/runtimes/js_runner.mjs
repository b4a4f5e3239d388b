/*
 * wasitest's JavaScript runner: runs WASI modules inside a JavaScript engine, one job at a
 * time, for every runtime that lives in one. Each runtime is an engine module beside this
 * file: node_worker.mjs (Node's node:wasi), bun_worker.mjs (Bun's node:wasi),
 * browser_shim_worker.mjs (@bjorn3/browser_wasi_shim), wasmer_js_worker.mjs (@wasmer/sdk),
 * jco_worker.mjs (components transpiled by jco, on @bytecodealliance/preview2-shim).
 *
 *   node|bun js_runner.mjs ENGINE.mjs [--in-process] [--terminate-grace-ms=N] [--engine-data=JSON]
 *
 * Started once per session by wasitest.plugins.runtimes.kit.js and fed jobs as JSON lines
 * on stdin; it answers each with one JSON line on stdout, in order. Its first line is a
 * greeting: {"ready": true, "pid": N, "engine": "node 20.x.y" | "bun 1.x.y"}.
 *
 * Job:    {"id", "module", "args": [...], "env": [[k, v], ...], "preopens": [[guest, host], ...],
 *          "stdin": path, "stdout": path, "stderr": path, "timeout_ms"}
 * Answer: {"id", "status", ...} in the words of the kit's helper-process protocol
 *         (kit/helper.py), which are `Execution`'s:
 *   exit         exit_code
 *   trap         trap_message; when a JavaScript throw ended the guest, also `thrown` (the
 *                class name of what was thrown) and `phase` ("instantiate" or "start")
 *   timeout      trap_message
 *   error        error: the module could not be run at all (unreadable, not a module, no
 *                _start, cannot be instantiated, a bad preopen, the Worker died)
 *   unsupported  unsupported: the engine must not run this job
 * with duration_s, the job's time in the engine (WASI set-up, instantiation, run; up to the
 * time limit), and "retire" when the runner asks to be replaced before the next job: "fds"
 * when descriptors leaked by terminated jobs piled up (close its stdin: it exits), "stuck"
 * when a timed-out engine could not be stopped, e.g. blocked in a host call such as a long
 * sleep (kill it: Node waits for its Workers at exit). An engine's own answer may carry a
 * "retire" too, passed on as it is (jco_worker.mjs: "components", when its Worker holds more
 * transpiled components than it should keep: ES modules cannot be unloaded).
 *
 * This file owns what every engine shares: the protocol loop; loading each module once
 * (per path, mtime and size, LRU of MAX_MODULES); opening and closing the job's stdio
 * files; the time limit; fd accounting.
 *
 * An engine module exports
 *   start(data)     async set-up, once per Worker (or per process, see --in-process), given
 *                   the --engine-data; resolves to run(job)
 *   run(job)        runs one job, returns (or resolves to) its answer; job is {module (what
 *                   load made of the file), path, args, env, preopens, fds: [stdin, stdout,
 *                   stderr] (host descriptors), timeout_ms}. It must build a fresh WASI
 *                   object and instance for every job, so no state reaches the next.
 *   load(bytes)     optional, in the main thread: what a module file becomes, or a throw
 *                   saying why the engine cannot run it ("cannot load PATH: ..."); it must
 *                   survive postMessage to a Worker. By default WebAssembly.compile; a
 *                   components engine would transpile here.
 *
 * Where the engine runs: in a long-lived Worker thread, by default. A job past timeout_ms
 * has its Worker terminated (a new one boots for the next job); a Worker that has not
 * stopped after --terminate-grace-ms (default 1000) makes the runner retire "stuck". Bun
 * cannot terminate a Worker that runs WebAssembly (the promise never settles), so Bun gets
 * --terminate-grace-ms=0: it retires at once, and ending the process does stop it.
 * With --in-process the engine runs in the main thread instead: for an engine that has
 * Workers of its own (@wasmer/sdk). It enforces timeout_ms itself and answers "timeout";
 * the runner cannot stop it (the session's backstop kills a runner that never answers).
 *
 * File descriptors: the runner opens the job's stdio files and hands their numbers to the
 * engine, and closes them afterwards if they are still its own (same number, same inode:
 * the engine or the guest may have closed them and the number been reused). The guest's
 * stdio never falls back to the runner's own fds 0-2, the protocol pipes.
 */

import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { errorText, quietConsole } from './js_worker_common.mjs';

const MAX_MODULES = 16;
/** Leaked descriptors tolerated before the runner asks to be replaced. */
const FD_LEAK_LIMIT = 256;
const TIMEOUT_MESSAGE = 'timed out; the Worker was terminated';

/** Run one job on an engine, in whichever thread it lives. */
async function timed(run, job) {
  const t0 = performance.now();
  let answer;
  try {
    answer = await run(job);
  } catch (err) {
    answer = { status: 'error', error: `runner failure: ${errorText(err)}` };
  }
  answer.duration_s ??= (performance.now() - t0) / 1000;
  return answer;
}

function importEngine(path) {
  return import(pathToFileURL(path).href);
}

// ---------------------------------------------------------------------------------- worker

function workerMain() {
  quietConsole();
  // The listener is there before the engine has started, so no job can arrive unheard.
  const ready = importEngine(workerData.engine).then((engine) => engine.start(workerData.data));
  ready.catch(() => {}); // reported with each job
  parentPort.on('message', async (job) => {
    let run;
    try {
      run = await ready;
    } catch (err) {
      parentPort.postMessage({ status: 'error', error: `cannot start the engine: ${errorText(err)}` });
      return;
    }
    parentPort.postMessage(await timed(run, job));
  });
}

// ------------------------------------------------------------------------------ main thread

function countFds() {
  try {
    return fs.readdirSync('/dev/fd').length;
  } catch (err) {
    return 0; // no /dev/fd (Windows): no leak detection
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
      // EBADF: the engine (or the guest) already closed it
    }
  }
}

class Runner {
  constructor(options) {
    this.options = options;
    this.load = (bytes) => WebAssembly.compile(bytes);
    this.modules = new Map(); // path -> {mtimeMs, size, module}
    this.runHere = null; // the engine's run(job), when it runs in this thread
    this.worker = null;
    this.current = null; // the Worker running the job in flight
    this.pending = null; // resolves the job in flight
    this.baseFds = 0;
    this.retire = null;
  }

  async start() {
    const { engine, data, inProcess } = this.options;
    const module = await importEngine(engine);
    if (module.load) this.load = module.load;
    if (inProcess) this.runHere = await module.start(data);
    else this.spawn(); // boots while the first job is on its way
    this.baseFds = countFds();
  }

  async loaded(path) {
    const stat = fs.statSync(path);
    let hit = this.modules.get(path);
    if (!hit || hit.mtimeMs !== stat.mtimeMs || hit.size !== stat.size) {
      hit = { mtimeMs: stat.mtimeMs, size: stat.size, module: await this.load(fs.readFileSync(path)) };
    }
    this.modules.delete(path); // (re-)insert: Map order is the LRU order
    this.modules.set(path, hit);
    while (this.modules.size > MAX_MODULES) this.modules.delete(this.modules.keys().next().value);
    return hit;
  }

  spawn() {
    const { engine, data } = this.options;
    const worker = new Worker(new URL(import.meta.url), { workerData: { engine, data } });
    worker.on('message', (msg) => this.settle(worker, msg));
    worker.on('error', (err) => this.died(worker, `the Worker died: ${errorText(err)}`));
    worker.on('exit', (code) => this.died(worker, `the Worker exited with code ${code}`));
    this.worker = worker;
  }

  died(worker, error) {
    if (this.worker === worker) this.worker = null;
    this.settle(worker, { status: 'error', error });
  }

  settle(worker, msg) {
    if (worker !== this.current || !this.pending) return;
    const resolve = this.pending;
    this.pending = null;
    resolve(msg);
  }

  async run(job) {
    let loaded;
    try {
      loaded = await this.loaded(job.module);
    } catch (err) {
      return { status: 'error', error: `cannot load ${job.module}: ${errorText(err)}` };
    }
    let opened;
    try {
      opened = openStdio(job);
    } catch (err) {
      return { status: 'error', error: `cannot open the job's stdio files: ${errorText(err)}` };
    }
    const work = {
      module: loaded.module,
      path: job.module,
      args: job.args,
      env: job.env,
      preopens: job.preopens,
      fds: opened.map(([fd]) => fd),
      timeout_ms: job.timeout_ms,
      disk_limit: job.disk_limit,
    };
    const answer = this.runHere ? await timed(this.runHere, work) : await this.inWorker(work);
    if (answer.status === 'timeout') answer.trap_message ??= TIMEOUT_MESSAGE;
    // A Worker that could not be stopped keeps its fds: closed, their numbers could be
    // reused for the files of a later job, which it would then write into.
    if (this.retire !== 'stuck') closeStdio(opened);
    if (!this.retire && countFds() > this.baseFds + FD_LEAK_LIMIT) this.retire = 'fds';
    if (this.retire) answer.retire = this.retire;
    return answer;
  }

  async inWorker(work) {
    if (!this.worker) this.spawn();
    const worker = this.worker;
    this.current = worker;
    const started = performance.now();
    let timer;
    const answer = await new Promise((resolve) => {
      this.pending = resolve;
      timer = setTimeout(() => this.settle(worker, { status: 'timeout' }), work.timeout_ms);
      worker.postMessage(work);
    });
    clearTimeout(timer);
    this.current = null;
    answer.duration_s ??= (performance.now() - started) / 1000;
    if (answer.status === 'timeout') {
      if (await this.stop(worker)) this.spawn(); // boots while the answer travels back
      else this.retire = 'stuck';
    }
    return answer;
  }

  /** Terminate a Worker; false when it has not stopped within the grace. */
  async stop(worker) {
    if (this.worker === worker) this.worker = null;
    const grace = this.options.terminateGraceMs;
    if (grace <= 0) return false;
    return Promise.race([
      worker.terminate().then(() => true, () => true),
      new Promise((resolve) => setTimeout(() => resolve(false), grace).unref()),
    ]);
  }
}

function parseOptions(argv) {
  const flag = (name) => argv.includes(`--${name}`);
  const value = (name, fallback) => {
    const found = argv.find((arg) => arg.startsWith(`--${name}=`));
    return found === undefined ? fallback : found.slice(name.length + 3);
  };
  return {
    engine: argv[0],
    inProcess: flag('in-process'),
    terminateGraceMs: Number(value('terminate-grace-ms', '1000')),
    data: JSON.parse(value('engine-data', '{}')),
  };
}

async function main() {
  // The protocol is written to fd 1 directly; anything else bound for stdout (console output
  // of this thread, or of Workers, which Node forwards through process.stdout) goes to the
  // log on stderr instead of corrupting it.
  process.stdout.write = (...args) => process.stderr.write(...args);
  quietConsole();
  const write = (obj) => fs.writeSync(1, JSON.stringify(obj) + '\n');
  const runner = new Runner(parseOptions(process.argv.slice(2)));
  await runner.start();
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
        write({ id: null, status: 'error', error: `bad job line: ${errorText(err)}` });
        continue;
      }
      let answer;
      try {
        answer = await runner.run(job);
      } catch (err) {
        answer = { status: 'error', error: `runner failure: ${errorText(err)}` };
      }
      write({ id: job.id, ...answer });
    }
    busy = false;
    if (closed) process.exit(0);
  }

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

if (isMainThread) await main();
else workerMain();
