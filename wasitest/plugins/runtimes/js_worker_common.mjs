/*
 * Helpers for the Worker side of js_runner.mjs, shared by bun_worker.mjs and
 * browser_shim_worker.mjs.
 */

import { parentPort } from 'node:worker_threads';

/**
 * Keep the WASI implementations' own console output off the runner's stdout, which carries
 * the JSON-lines protocol (Bun's node:wasi logs bad iovecs with console.log): it goes to
 * stderr, which the adapter keeps as the runner's log.
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
 * ("10") first, which would reorder the guest's environment; Object.entries follows a
 * Proxy's ownKeys.
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

/** What a throw during instantiation or _start becomes in the answer. */
export function thrown(err, phase) {
  const name = err && typeof err === 'object' && err.constructor ? err.constructor.name : typeof err;
  return { status: 'threw', phase, name, message: errorText(err) };
}

/** Serve jobs: `run(job)` returns the answer (without duration_ms). */
export function serve(run) {
  quietConsole();
  parentPort.on('message', (job) => {
    const t0 = performance.now();
    let answer;
    try {
      answer = run(job);
    } catch (err) {
      answer = { status: 'error', message: `runner failure: ${errorText(err)}` };
    }
    answer.duration_ms = performance.now() - t0;
    parentPort.postMessage(answer);
  });
}
