/*
 * The engine of js_runner.mjs for Node's `node:wasi` (run under `node`, in a Worker).
 *
 * File descriptors: uvwasi never closes what it holds (the preopened directories, files the
 * guest left open, the stdio it was given) when a WASI object goes away, so after each job
 * every descriptor is closed through the guest-facing `fd_close`, scanning upwards until
 * FD_SCAN_MISSES numbers in a row were not open. A module that failed to instantiate is
 * replaced by EMPTY_COMMAND so that WASI can still be "started" and its fds closed.
 *
 * node:wasi needs Node 18: no `WASI.getImportObject()` there, so the imports are given as
 * {wasi_snapshot_preview1: wasi.wasiImport}.
 */

import { WASI } from 'node:wasi';
import { compileCommand, errorText, ordered, thrown } from './js_worker_common.mjs';

/** `fd_close` misses in a row (above fd 2) after which no more guest fds are expected. */
const FD_SCAN_MISSES = 64;
const WASI_EBADF = 8;
const WASI_EPERM = 63;

/** (module (memory (export "memory") 0) (func (export "_start"))) */
const EMPTY_COMMAND = Buffer.from(
  '0061736d01000000010401600000030201000503010000071302066d656d6f727902' +
  '00065f737461727400000a040102000b', 'hex');

export async function load(bytes) {
  const module = await compileCommand(bytes, 'node:wasi');
  if (WebAssembly.Module.exports(module).some((e) => e.name === '_initialize')) {
    throw new Error('the module exports both _start and _initialize, which node:wasi refuses');
  }
  return module;
}

function closeAll(wasi, started, empty) {
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
 * at least as deep on disk as on paper, so no chain of them can leave. The session refuses
 * jobs whose preopened data already holds another kind (kit/js.py, `escaping_link`). */
function benignTarget(target) {
  return target.length > 0 && !target.startsWith('/') &&
    target.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function guardedImports(wasi) {
  const imports = Object.assign({}, wasi.wasiImport);
  imports.path_symlink = (oldPtr, oldLen, fd, newPtr, newLen) => {
    const memory = imports.memory;
    if (!memory) return WASI_EPERM;
    const target = Buffer.from(memory.buffer, oldPtr, oldLen).toString('utf8');
    if (!benignTarget(target)) return WASI_EPERM;
    return wasi.wasiImport.path_symlink(oldPtr, oldLen, fd, newPtr, newLen);
  };
  return imports;
}

function run(job, empty) {
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
    return { status: 'error', error: `cannot set up WASI: ${errorText(err)}` };
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
    answer = thrown(err, phase);
  }
  try {
    closeAll(wasi, started, empty);
  } catch (err) {
    // best effort: the runner's fd check is the safety net
  }
  return answer;
}

export async function start() {
  const empty = new WebAssembly.Module(EMPTY_COMMAND);
  return (job) => run(job, empty);
}
