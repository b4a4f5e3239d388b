/*
 * wasitest's runner for @wasmer/sdk under Node.js (Wasmer + WASIX compiled to WebAssembly,
 * with its own Worker pool; no native addon).
 *
 *   node wasmer_js_runner.mjs SDK_NODE_ENTRY.js
 *
 * Same JSON-lines protocol as node_runner.js and js_runner.mjs (greeting, then one answer
 * per job). Jobs here never carry preopens: the SDK's sandbox file system is virtual, its
 * only host-writable part is /workspace, and a guest's relative paths and /tmp are private
 * overlays of each process, so a host directory cannot be shown at "." or "/tmp"; the
 * adapter refuses such jobs before they get here.
 *
 * Every job gets a new sandbox (a fresh file system and process table) and a package made
 * from the module, cached per path, mtime, size and argv[0]: the SDK sets argv[0] to the
 * command's name, so the command is named after argv[0]. The SDK enforces the time limit
 * itself (`timeoutMs`) and keeps the output, up to OUTPUT_BYTES per stream.
 *
 * Shutting down: `wasmer.close()` never settles after a command has timed out, so at end
 * of input the runner exits without it.
 */

import fs from 'node:fs';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const sdk = await import(pathToFileURL(process.argv[2]).href);
const { Wasmer } = sdk;

const MAX_PACKAGES = 16;
/** Per stream; more is reported as truncated by writing one byte past it. */
const OUTPUT_BYTES = 16 * 1024 * 1024;
const COMMAND_NAME = /^[A-Za-z0-9_+.-]+$/;

const wasmer = new Wasmer({ cache: false });
const packages = new Map(); // key -> Package

function errorText(err) {
  if (err && typeof err === 'object') return String(err.message || err);
  return String(err);
}

/** Import modules the SDK provides; `env` only for an imported memory (WASIX threads). */
const PROVIDED = new Set(['wasi_snapshot_preview1', 'wasi_unstable', 'wasix_32v1', 'wasix_64v1']);

class LinkError extends Error {}

/**
 * The SDK reports a module it cannot instantiate as an exit with status 45 (WASI's
 * ENOEXEC), which no caller could tell from a real `exit(45)`: check the imports first.
 */
async function checkImports(bytes) {
  const module = await WebAssembly.compile(bytes);
  for (const imp of WebAssembly.Module.imports(module)) {
    if (PROVIDED.has(imp.module) || (imp.module === 'env' && imp.kind === 'memory')) continue;
    throw new LinkError(`the module imports ${imp.module}.${imp.name} (${imp.kind}), which @wasmer/sdk does not provide`);
  }
}

async function packageFor(path, name) {
  const stat = fs.statSync(path);
  const key = JSON.stringify([path, stat.mtimeMs, stat.size, name]);
  let pkg = packages.get(key);
  if (pkg) {
    packages.delete(key);
    packages.set(key, pkg);
    return pkg;
  }
  const bytes = new Uint8Array(fs.readFileSync(path));
  await checkImports(bytes);
  pkg = await wasmer.packages.create({
    modules: { app: bytes },
    commands: { [name]: { module: 'app' } },
  });
  packages.set(key, pkg);
  while (packages.size > MAX_PACKAGES) packages.delete(packages.keys().next().value);
  return pkg;
}

function save(file, captured) {
  const data = captured.truncated ? Buffer.concat([captured.bytes, Buffer.from([0])]) : captured.bytes;
  fs.writeFileSync(file, data);
}

/** "command execution failed: RuntimeError: js: unreachable\n<stack>" -> a trap answer. */
function trapOf(err) {
  const first = errorText(err).split('\n')[0];
  const match = /(RuntimeError|RangeError): (?:js: )?(.*)$/.exec(first);
  if (!match) return null;
  return { status: 'threw', phase: 'start', name: match[1], message: match[2] };
}

async function run(job) {
  const name = job.args[0];
  if (job.args.length === 0 || !COMMAND_NAME.test(name) || name === '.' || name === '..') {
    return {
      status: 'error',
      message: `UNSUPPORTED: argv[0] ${JSON.stringify(name ?? '')} cannot be a Wasmer command name ` +
        "(only ASCII letters, digits, '-', '_', '.', '+')",
    };
  }
  let pkg;
  try {
    pkg = await packageFor(job.module, name);
  } catch (err) {
    if (err instanceof LinkError) return { status: 'threw', phase: 'instantiate', name: 'LinkError', message: err.message };
    return { status: 'error', message: `cannot load ${job.module}: ${errorText(err)}` };
  }
  const stdin = job.stdin ? new Uint8Array(fs.readFileSync(job.stdin)) : new Uint8Array(0);
  const env = Object.fromEntries(job.env.map(([key, value]) => [String(key), String(value)]));
  const started = performance.now();
  let sandbox;
  try {
    sandbox = await wasmer.sandboxes.create({ packages: [pkg], env: {}, network: { mode: 'disabled' } });
  } catch (err) {
    return { status: 'error', message: `cannot create a sandbox: ${errorText(err)}` };
  }
  try {
    const output = await sandbox
      .command(pkg, job.args.slice(1), { env })
      .run({ check: false, stdin, timeoutMs: job.timeout_ms, outputBytes: OUTPUT_BYTES });
    save(job.stdout, output.stdout);
    save(job.stderr, output.stderr);
    const duration_ms = performance.now() - started;
    if (output.reason === 'timeout') return { status: 'timeout', duration_ms };
    if (output.reason === 'exited') return { status: 'exit', exit_code: output.exitCode, duration_ms };
    return { status: 'error', message: `the process was terminated (exit status ${output.exitCode})`, duration_ms };
  } catch (err) {
    const duration_ms = performance.now() - started;
    const trap = err && err.code === 'EXECUTION_ERROR' ? trapOf(err) : null;
    if (trap) return { ...trap, duration_ms };
    const code = err && err.code ? `${err.code}: ` : '';
    const phase = err && err.code === 'EXECUTION_ERROR' ? 'start' : 'instantiate';
    return { status: 'error', phase, message: `${code}${errorText(err).split('\n')[0]}`, duration_ms };
  } finally {
    sandbox.close().catch(() => {});
  }
}

function main() {
  // The protocol is written to fd 1 directly; anything else bound for stdout (console output
  // of this thread, or of Workers, which Node forwards through process.stdout) goes to the
  // log on stderr instead of corrupting it.
  process.stdout.write = (...args) => process.stderr.write(...args);
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
        answer = await run(job);
      } catch (err) {
        answer = { status: 'error', message: `runner failure: ${errorText(err)}` };
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
  write({ ready: true, pid: process.pid, engine: `node ${process.versions.node}` });
}

await wasmer.ready();
main();
