/*
 * The engine of js_runner.mjs for WASI preview 2 components transpiled by jco and run on
 * @bytecodealliance/preview2-shim (under `node`, in a Worker; --engine-data names the
 * shim's Node entry file: {"entry": PATH}).
 *
 * What a job's module is: not a .wasm but the small JSON file the session writes beside a
 * transpiled component (jco.py's `Transpiler`, kit/js.py's `JsSession` `prepare`):
 *   {"js": PATH of the ES module `jco transpile --instantiation async` made,
 *    "cores": {NAME: PATH of that core module, its memories capped to the job's limit}}
 * `load` compiles the core modules once, in the runner's main thread; every job imports
 * the ES module (once per Worker: Node caches it) and calls its `instantiate` with the
 * compiled cores and an import object made for that job alone, so each job is a fresh
 * instance of every core module with fresh WASI state.
 *
 * The shim is never used as it comes: its defaults are the host's (`process.env`,
 * `process.argv`, `process.cwd()`, writes to `process.stdout`, `exit` calling
 * `process.exit`). Per job this engine gives the guest
 *   - exactly the job's argv and environment, and no initial cwd;
 *   - stdin/stdout/stderr streams over the job's host descriptors (the runner opened them:
 *     stdout and stderr are the session's capped pipes), written and read synchronously,
 *     so nothing reaches the runner's own stdout and nothing is in flight when it answers;
 *     no terminal (as for a host process whose stdio is a file);
 *   - the job's preopens only, as descriptors of the shim's Node file system
 *     (`createFilesystem`), whose path resolution refuses absolute paths, `..` above a
 *     preopen, and symlinks whose target is absolute or leads above it;
 *   - exit: `exit(ok|err)` and `exit-with-code(n)` throw to this engine, which answers
 *     exit code 0, 1 or n (the runner's process is never exited);
 *   - sockets and HTTP with the network denied (`createSockets({enableNetwork: false})`).
 * Clocks, random and the shim's io classes are shared; they hold no guest state.
 *
 * Two guards on top of the shim (see `guardFileSystem`). The shim resolves a path against
 * the host path a directory descriptor was opened at, re-reading it with `realpathSync`,
 * and lists a directory by that path (`opendirSync`): a guest that opens a folder, moves
 * it away and puts a relative symlink (which the shim allows) in its place has that
 * descriptor resolve outside, up to reading any host file and listing `/` (measured; the
 * hostile battery has no such case, tests/runtimes/test_jco.py has). While a job runs,
 * both calls refuse a host path whose real path is outside every preopen of the job. And
 * every descriptor, directory listing and file stream the guest opened is closed after the
 * job: the shim closes them only when garbage-collected, and a guest that leaves files
 * open leaked about a hundred descriptors a job until the runner retired.
 *
 * ES modules cannot be unloaded: past MAX_COMPONENTS distinct components in one Worker the
 * answer carries `retire: "components"` and the session starts a fresh runner.
 */

import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dedupe, errorText, thrown, writeAll } from './js_worker_common.mjs';

/** Transpiled components a Worker imports before the engine asks for a fresh runner: an ES
 * module stays in memory as long as its Worker (about a megabyte each). */
const MAX_COMPONENTS = 64;
/** The most bytes one stdin read returns. */
const READ_CHUNK = 64 * 1024;
/** What `check-write` allows per write on stdout and stderr: writes are synchronous. */
const WRITE_BUDGET = 1n << 20n;

/** The shim's name for a resource's dispose method (Node before 20.4 has no Symbol.dispose). */
const symbolDispose = Symbol.dispose || Symbol.for('dispose');
/** node:fs's own, before `guardFileSystem` replaces them. */
const hostRealpath = fs.realpathSync;
const hostOpendir = fs.opendirSync;

/** The shim's namespaces, once `start` has imported them. */
let shim;
/** The job in flight: its preopens' real paths and what the guest opened. */
let current = null;
/** The transpiled components this Worker has imported (their ES module paths). */
const imported = new Set();

/** An exit the guest asked for; thrown through its frames back to `run`. */
class GuestExit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export async function load(bytes) {
  const prepared = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const cores = {};
  for (const [name, file] of Object.entries(prepared.cores)) {
    cores[name] = await WebAssembly.compile(fs.readFileSync(file));
  }
  return { js: prepared.js, cores };
}

export async function start(data) {
  const url = pathToFileURL(data.entry).href;
  const [cli, filesystem, io, clocks, random, sockets, http] = await Promise.all(
    ['cli', 'filesystem', 'io', 'clocks', 'random', 'sockets', 'http'].map((name) => import(new URL(`./${name}.js`, url).href)),
  );
  if (typeof filesystem.createFilesystem !== 'function' || typeof sockets.createSockets !== 'function') {
    throw new Error('this @bytecodealliance/preview2-shim has no createFilesystem/createSockets: it is too old (0.26 has them)');
  }
  shim = { cli, filesystem, io, clocks, random, sockets, http, ...streamClasses(io.streams) };
  guardFileSystem(filesystem);
  return run;
}

// ------------------------------------------------------------------------------- streams

function streamError(err) {
  return { tag: 'last-operation-failed', val: new shim.io.error.Error(errorText(err)) };
}

/** A pollable that is ready at once: these streams never block. */
function ready() {
  return shim.clocks.monotonicClock.subscribeDuration(0n);
}

/**
 * The guest's stdout and stderr (`OutputStream`s over a host descriptor) and stdin (an
 * `InputStream`), as subclasses of the shim's classes: the component's bindings accept only
 * those. Their base constructors set nothing; every method the guest can call is here.
 */
function streamClasses(streams) {
  class FdOutputStream extends streams.OutputStream {
    #fd;
    constructor(fd) {
      super();
      this.#fd = fd;
    }
    checkWrite() {
      return WRITE_BUDGET;
    }
    write(buf) {
      try {
        writeAll(this.#fd, buf);
      } catch (err) {
        throw streamError(err);
      }
    }
    blockingWriteAndFlush(buf) {
      this.write(buf);
    }
    flush() {}
    blockingFlush() {}
    writeZeroes(len) {
      this.write(new Uint8Array(Number(len)));
    }
    blockingWriteZeroesAndFlush(len) {
      this.writeZeroes(len);
    }
    splice(src, len) {
      const data = src.read(len);
      this.write(data);
      return BigInt(data.byteLength);
    }
    blockingSplice(src, len) {
      return this.splice(src, len);
    }
    subscribe() {
      return ready();
    }
    [symbolDispose]() {}
  }

  class FdInputStream extends streams.InputStream {
    #fd;
    constructor(fd) {
      super();
      this.#fd = fd;
    }
    read(len) {
      const want = Math.min(Number(len), READ_CHUNK);
      if (want === 0) return new Uint8Array(0);
      const buf = Buffer.alloc(want);
      let got;
      try {
        got = fs.readSync(this.#fd, buf, 0, want, null);
      } catch (err) {
        throw streamError(err);
      }
      if (got === 0) throw { tag: 'closed' };
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    }
    blockingRead(len) {
      return this.read(len);
    }
    skip(len) {
      return BigInt(this.read(len).byteLength);
    }
    blockingSkip(len) {
      return this.skip(len);
    }
    subscribe() {
      return ready();
    }
    [symbolDispose]() {}
  }

  return { FdOutputStream, FdInputStream };
}

// --------------------------------------------------------------------------- file system

/** `real` is one of the roots or inside one. */
function inside(real, roots) {
  return roots.some((root) => real === root || real.startsWith(root.endsWith('/') ? root : root + '/'));
}

function refusal(what) {
  const err = new Error(`EACCES: ${what} resolves outside the job's preopens`);
  err.code = 'EACCES';
  return err;
}

/**
 * Hold the shim to the job's preopens where it trusts a host path (see the top), and keep
 * what the guest opens so it can be closed after the job. `realpathSync` and `opendirSync`
 * are replaced on `node:fs` and the shim's ES-module bindings of them are updated
 * (`syncBuiltinESMExports`); outside a job they behave as before.
 */
function guardFileSystem(filesystem) {
  const guardedRealpath = function realpathSync(target, options) {
    const real = hostRealpath(target, options);
    if (current && typeof real === 'string' && !inside(real, current.roots)) throw refusal(String(target));
    return real;
  };
  guardedRealpath.native = hostRealpath.native;
  fs.realpathSync = guardedRealpath;
  fs.opendirSync = function opendirSync(target, options) {
    if (current && !inside(hostRealpath(target), current.roots)) throw refusal(String(target));
    const dir = hostOpendir(target, options);
    if (current) current.opened.push(() => dir.closeSync());
    return dir;
  };
  syncBuiltinESMExports();
  const proto = filesystem.types.Descriptor.prototype;
  for (const method of ['openAt', 'readViaStream', 'writeViaStream', 'appendViaStream']) {
    const original = proto[method];
    proto[method] = function kept(...args) {
      const made = original.apply(this, args);
      if (current && made && typeof made[symbolDispose] === 'function') current.opened.push(() => made[symbolDispose]());
      return made;
    };
  }
}

function closeOpened(opened) {
  for (const close of opened.reverse()) {
    try {
      close();
    } catch (err) {
      // already closed by the guest
    }
  }
}

// ---------------------------------------------------------------------------------- a job

function imports(job) {
  const { cli, filesystem, io, clocks, random, sockets, http, FdInputStream, FdOutputStream } = shim;
  const stdin = new FdInputStream(job.fds[0]);
  const stdout = new FdOutputStream(job.fds[1]);
  const stderr = new FdOutputStream(job.fds[2]);
  const env = dedupe(job.env);
  const args = job.args.map(String);
  const preopens = dedupe(job.preopens);
  const fsys = filesystem.createFilesystem({ preopens: Object.fromEntries(preopens) });
  const net = sockets.createSockets({ enableNetwork: false });
  const exit = (code) => {
    throw new GuestExit(code);
  };
  const denied = {
    ...http.outgoingHandler,
    handle() {
      throw { tag: 'HTTP-request-denied' };
    },
  };
  return {
    'wasi:cli/environment': {
      getEnvironment: () => env,
      getArguments: () => args,
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status) => exit(status.tag === 'err' ? 1 : 0),
      exitWithCode: (code) => exit(code),
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:filesystem/preopens': fsys.preopens,
    'wasi:filesystem/types': fsys.types,
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:random/random': random.random,
    'wasi:random/insecure': random.insecure,
    'wasi:random/insecure-seed': random.insecureSeed,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
    'wasi:sockets/instance-network': net.instanceNetwork,
    'wasi:sockets/ip-name-lookup': net.ipNameLookup,
    'wasi:sockets/network': net.network,
    'wasi:sockets/tcp': net.tcp,
    'wasi:sockets/tcp-create-socket': net.tcpCreateSocket,
    'wasi:sockets/udp': net.udp,
    'wasi:sockets/udp-create-socket': net.udpCreateSocket,
    'wasi:http/types': http.types,
    'wasi:http/outgoing-handler': denied,
  };
}

function realRoots(preopens) {
  const roots = [];
  for (const [, host] of preopens) {
    try {
      roots.push(hostRealpath(host));
    } catch (err) {
      // a missing preopen: nothing resolves inside it
    }
  }
  return roots;
}

async function run(job) {
  let component;
  try {
    component = await import(pathToFileURL(job.module.js).href);
  } catch (err) {
    return { status: 'error', error: `cannot import the transpiled component ${path.basename(job.module.js)}: ${errorText(err)}` };
  }
  imported.add(job.module.js);
  const answer = await runComponent(job, component);
  if (imported.size > MAX_COMPONENTS) answer.retire = 'components';
  return answer;
}

async function runComponent(job, component) {
  current = { roots: realRoots(job.preopens), opened: [] };
  let phase = 'instantiate';
  try {
    const cores = job.module.cores;
    const instance = await component.instantiate((name) => {
      if (!(name in cores)) throw new Error(`the transpiled component asks for an unknown core module ${name}`);
      return cores[name];
    }, imports(job));
    const entry = Object.entries(instance).find(([key]) => key.startsWith('wasi:cli/run@'))?.[1] ?? instance.run;
    if (!entry || typeof entry.run !== 'function') {
      return { status: 'error', error: 'the component does not export wasi:cli/run (not a command)' };
    }
    phase = 'start';
    try {
      entry.run();
    } catch (err) {
      if (err instanceof GuestExit) throw err;
      // `run` returned err: jco throws it as a ComponentError whose payload is the error
      if (err && err.constructor && err.constructor.name === 'ComponentError') return { status: 'exit', exit_code: 1 };
      throw err;
    }
    return { status: 'exit', exit_code: 0 };
  } catch (err) {
    if (err instanceof GuestExit) return { status: 'exit', exit_code: err.code };
    return thrown(err, phase);
  } finally {
    closeOpened(current.opened);
    current = null;
  }
}
