/*
 * Helpers for the engine modules of js_runner.mjs (node_worker.mjs, bun_worker.mjs,
 * browser_shim_worker.mjs, wasmer_js_worker.mjs), and the few the runner shares with them.
 */

import fs from 'node:fs';

/**
 * Keep console output (the runner's, an engine's, a WASI implementation's: Bun's node:wasi
 * logs bad iovecs with console.log) off the runner's stdout, which carries the JSON-lines
 * protocol: it goes to stderr, which the session keeps as the runner's log. Bun's console
 * writes to fd 1 itself, not through `process.stdout.write`, hence this besides the runner's
 * own redirection of `process.stdout`.
 */
export function quietConsole() {
  const toStderr = (...parts) => {
    try {
      process.stderr.write(parts.map(String).join(' ') + '\n');
    } catch (err) {
      // nowhere left to say it
    }
  };
  for (const name of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir']) console[name] = toStderr;
}

/**
 * The (key, value) pairs with duplicates removed as a dict would (the last value wins, in
 * the place of its last occurrence), keeping the order given.
 */
export function dedupe(pairs) {
  const last = new Map();
  pairs.forEach(([key, value], index) => last.set(String(key), [index, String(value)]));
  return [...last.entries()].sort((a, b) => a[1][0] - b[1][0]).map(([key, [, value]]) => [key, value]);
}

/**
 * An object whose keys enumerate in the order given. Plain objects list integer-like keys
 * ("10") first, which would reorder the guest's environment; Object.entries and for...in
 * follow a Proxy's ownKeys.
 */
export function ordered(pairs) {
  const unique = dedupe(pairs);
  const target = Object.fromEntries(unique);
  const keys = unique.map(([key]) => key);
  return new Proxy(target, { ownKeys: () => keys });
}

export function errorText(err) {
  if (err && typeof err === 'object') return String(err.message || err);
  return String(err);
}

/** The errors WebAssembly itself throws for a failed instantiation that is the guest's doing
 * (its memory cannot be allocated, its start function trapped). */
const INSTANTIATION_TRAPS = new Set(['RuntimeError', 'RangeError']);

/**
 * What a throw while instantiating (`phase` "instantiate") or running ("start") the guest
 * becomes in the answer. A module that cannot be linked or instantiated is an error;
 * anything thrown while it runs is a trap, whose `thrown` (the error's class name) lets the
 * session tell a wasm trap from the WASI implementation itself failing (see `JsSession`).
 */
export function thrown(err, phase) {
  const name = err && typeof err === 'object' && err.constructor ? err.constructor.name : typeof err;
  const message = errorText(err);
  if (name === 'LinkError' || (phase === 'instantiate' && !INSTANTIATION_TRAPS.has(name))) {
    return { status: 'error', error: `cannot instantiate: ${name}: ${message}`, thrown: name, phase };
  }
  return { status: 'trap', trap_message: message, thrown: name, phase };
}

/** Compile a WASI command module that `who` can run, or throw why it is none. */
export async function compileCommand(bytes, who) {
  const module = await WebAssembly.compile(bytes);
  const kinds = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (kinds.get('_start') !== 'function') {
    throw new Error('the module does not export a _start function (not a WASI command)');
  }
  if (kinds.get('memory') !== 'memory') {
    throw new Error(`the module does not export its memory as "memory", which ${who} needs`);
  }
  return module;
}

/** Write all of `data` to `fd` (a pipe may take it in pieces). */
export function writeAll(fd, data) {
  let done = 0;
  while (done < data.byteLength) done += fs.writeSync(fd, data, done, data.byteLength - done);
}
