/*
 * The engine of js_runner.mjs for Bun's `node:wasi` (run under `bun`, in a Worker).
 *
 * Bun's node:wasi is not Node's: it is a JavaScript port of wasi-js that ignores Node's
 * `stdin`/`stdout`/`stderr` and `returnOnExit` options. What it offers instead, and what
 * this file does with it:
 *  - stdio is an `FD_MAP` of guest fd -> {real: host fd}; 0, 1 and 2 start as the process's
 *    own fds 0-2, which here carry the runner's protocol. They are pointed at the job's
 *    stdio files before the module starts, so guest output, input and even `fd_close(1)`
 *    touch only the job's files; stdin's content is handed over through `getStdin`.
 *  - `bindings` replaces its host hooks: `exit` (proc_exit) would call process.exit and
 *    `kill` (proc_raise) would signal the runner itself. Both throw instead.
 *  - `env` and `preopens` are plain objects read with Object.entries (ordered() keeps the
 *    given order); the default env is empty, and the runner always passes one anyway.
 */

import fs from 'node:fs';
import { WASI } from 'node:wasi';
import { compileCommand, errorText, ordered, thrown } from './js_worker_common.mjs';

class ProcExit {
  constructor(code) {
    this.code = code;
  }
}

class ProcRaise extends Error {}

/** Bun's host hooks, with the two that would act on the runner itself made to throw. */
function ownBindings() {
  return {
    ...new WASI({ args: [], env: {}, preopens: {} }).bindings,
    exit: (code) => {
      throw new ProcExit(code);
    },
    kill: (signal) => {
      throw new ProcRaise(`proc_raise(${signal})`);
    },
  };
}

export function load(bytes) {
  return compileCommand(bytes, 'the WASI shim');
}

/**
 * The job's stdin, handed over whole on the first read and then EOF. Without `getStdin`,
 * Bun reads fd 0 itself and sleeps 50 ms on every read at end of input.
 */
function stdinOnce(fd) {
  let data = fs.readFileSync(fd);
  return () => {
    const given = data.length ? data : null;
    data = Buffer.alloc(0);
    return given;
  };
}

/** Close what the guest (or the preopens) left open: every host fd in the map but 0-2. */
function closeAll(wasi, stdio) {
  for (const [fd, entry] of wasi.FD_MAP) {
    if (fd <= 2 || stdio.includes(entry.real)) continue;
    try {
      fs.closeSync(entry.real);
    } catch (err) {
      // already closed
    }
  }
}

function run(job, bindings) {
  let wasi;
  try {
    wasi = new WASI({
      args: job.args,
      env: ordered(job.env),
      preopens: ordered(job.preopens),
      bindings,
      getStdin: stdinOnce(job.fds[0]),
    });
  } catch (err) {
    return { status: 'error', error: `cannot set up WASI: ${errorText(err)}` };
  }
  try {
    job.fds.forEach((real, fd) => {
      wasi.FD_MAP.get(fd).real = real;
    });
    let phase = 'instantiate';
    try {
      const instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: wasi.wasiImport });
      phase = 'start';
      wasi.start(instance);
      return { status: 'exit', exit_code: 0 };
    } catch (err) {
      if (err instanceof ProcExit) return { status: 'exit', exit_code: err.code };
      // a raised signal ends the instance like a trap does (Wasmtime traps on proc_raise)
      if (err instanceof ProcRaise) return { status: 'trap', trap_message: err.message, phase };
      return thrown(err, phase);
    }
  } finally {
    closeAll(wasi, job.fds);
  }
}

export async function start() {
  const bindings = ownBindings();
  return (job) => run(job, bindings);
}
