/*
 * The engine of js_runner.mjs for @wasmer/sdk under Node.js (Wasmer + WASIX compiled to
 * WebAssembly; no native addon). It runs in the runner's main thread (--in-process): the
 * SDK has a Worker pool of its own, and enforces the time limit itself (`timeoutMs`).
 * --engine-data names the SDK's Node entry file: {"entry": PATH}.
 *
 * Jobs here never carry preopens: the SDK's sandbox file system is virtual, its only
 * host-writable part is /workspace, and a guest's relative paths and /tmp are private
 * overlays of each process, so a host directory cannot be shown at "." or "/tmp"; the
 * adapter refuses such jobs before they get here.
 *
 * Every job gets a new sandbox (a fresh file system and process table) and a package made
 * from the module, cached per compiled module and argv[0]: the SDK sets argv[0] to the
 * command's name, so the command is named after argv[0]. The SDK keeps the output, up to
 * OUTPUT_BYTES per stream, which is written to the job's stdout and stderr afterwards.
 *
 * Shutting down: `wasmer.close()` never settles after a command has timed out, so the
 * runner exits without it.
 */

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { errorText, thrown, writeAll } from './js_worker_common.mjs';

/** Per stream; more is reported as truncated by writing one byte past it. */
const OUTPUT_BYTES = 16 * 1024 * 1024;
const COMMAND_NAME = /^[A-Za-z0-9_+.-]+$/;
/** Import modules the SDK provides; `env` only for an imported memory (WASIX threads). */
const PROVIDED = new Set(['wasi_snapshot_preview1', 'wasi_unstable', 'wasix_32v1', 'wasix_64v1']);

class LinkError extends Error {}

/**
 * The SDK reports a module it cannot instantiate as an exit with status 45 (WASI's
 * ENOEXEC), which no caller could tell from a real `exit(45)`: check the imports first.
 */
function checkImports(module) {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (PROVIDED.has(imp.module) || (imp.module === 'env' && imp.kind === 'memory')) continue;
    const what = `${imp.module}.${imp.name} (${imp.kind})`;
    throw new LinkError(`the module imports ${what}, which @wasmer/sdk does not provide`);
  }
}

function save(fd, captured) {
  writeAll(fd, captured.truncated ? Buffer.concat([captured.bytes, Buffer.from([0])]) : captured.bytes);
}

/** "command execution failed: RuntimeError: js: unreachable\n<stack>" -> a trap answer. */
function trapOf(err) {
  const first = errorText(err).split('\n')[0];
  const match = /(RuntimeError|RangeError): (?:js: )?(.*)$/.exec(first);
  if (!match) return null;
  return { status: 'trap', trap_message: match[2], thrown: match[1], phase: 'start' };
}

class Engine {
  constructor(wasmer) {
    this.wasmer = wasmer;
    /** compiled module -> (command name -> Package); goes with the runner's module cache */
    this.packages = new WeakMap();
  }

  async packageFor(job, name) {
    let named = this.packages.get(job.module);
    if (!named) this.packages.set(job.module, (named = new Map()));
    let pkg = named.get(name);
    if (!pkg) {
      pkg = await this.wasmer.packages.create({
        modules: { app: new Uint8Array(fs.readFileSync(job.path)) },
        commands: { [name]: { module: 'app' } },
      });
      named.set(name, pkg);
    }
    return pkg;
  }

  async run(job) {
    const name = job.args[0];
    if (job.args.length === 0 || !COMMAND_NAME.test(name) || name === '.' || name === '..') {
      return {
        status: 'unsupported',
        unsupported: `argv[0] ${JSON.stringify(name ?? '')} cannot be a Wasmer command name ` +
          "(only ASCII letters, digits, '-', '_', '.', '+')",
      };
    }
    let pkg;
    try {
      checkImports(job.module);
      pkg = await this.packageFor(job, name);
    } catch (err) {
      if (err instanceof LinkError) return thrown(err, 'instantiate');
      return { status: 'error', error: `cannot load ${job.path}: ${errorText(err)}` };
    }
    const stdin = new Uint8Array(fs.readFileSync(job.fds[0]));
    const env = Object.fromEntries(job.env.map(([key, value]) => [String(key), String(value)]));
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    let sandbox;
    try {
      sandbox = await this.wasmer.sandboxes.create({ packages: [pkg], env: {}, network: { mode: 'disabled' } });
    } catch (err) {
      return { status: 'error', error: `cannot create a sandbox: ${errorText(err)}` };
    }
    try {
      const output = await sandbox
        .command(pkg, job.args.slice(1), { env })
        .run({ check: false, stdin, timeoutMs: job.timeout_ms, outputBytes: OUTPUT_BYTES });
      save(job.fds[1], output.stdout);
      save(job.fds[2], output.stderr);
      if (output.reason === 'timeout') return { status: 'timeout', duration_s: took() };
      if (output.reason === 'exited') return { status: 'exit', exit_code: output.exitCode, duration_s: took() };
      const error = `the process was terminated (exit status ${output.exitCode})`;
      return { status: 'error', error, duration_s: took() };
    } catch (err) {
      const trap = err && err.code === 'EXECUTION_ERROR' ? trapOf(err) : null;
      if (trap) return { ...trap, duration_s: took() };
      const code = err && err.code ? `${err.code}: ` : '';
      return { status: 'error', error: `${code}${errorText(err).split('\n')[0]}`, duration_s: took() };
    } finally {
      sandbox.close().catch(() => {});
    }
  }
}

export async function start(data) {
  const { Wasmer } = await import(pathToFileURL(data.entry).href);
  const wasmer = new Wasmer({ cache: false });
  await wasmer.ready();
  const engine = new Engine(wasmer);
  return (job) => engine.run(job);
}
