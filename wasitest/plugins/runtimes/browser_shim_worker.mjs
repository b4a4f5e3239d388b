/*
 * The engine of js_runner.mjs for @bjorn3/browser_wasi_shim (run under `node`, in a Worker;
 * --engine-data names the shim's entry file: {"entry": PATH}).
 *
 * The shim has no host access at all: its file system lives in memory. A preopened host
 * directory is therefore *copied*: before the module starts, each distinct host directory
 * becomes an in-memory tree (a directory appearing under two guest paths, like the scratch
 * directory at "." and "/tmp", is one tree under both, as it is one directory on the host);
 * after the module ends (exit or trap) the tree is written back: new and changed files are
 * written, new folders made, and whatever the guest deleted or renamed away is deleted.
 * Files the guest did not change are not rewritten.
 *
 * What the copy cannot carry, it refuses rather than fake: a symlink or any entry that is
 * not a regular file or a folder makes the job unsupported (the shim has no symlinks).
 * Not carried: permissions and timestamps (the shim has neither), hard links (two names
 * of one in-memory file come back as two files). A job that times out loses its changes:
 * its Worker is terminated with the tree in it.
 *
 * The in-memory files live in this process's memory, where wasitest's watch of the scratch
 * directory cannot see them: `limitWrites` bounds them by the job's disk limit instead. It
 * measures the trees (bytes held, plus an inode's worth an entry, as the watch counts,
 * beyond what the test data copied in held) each time the guest has written or made about an eighth of the limit since the last
 * look; past the limit the write throws, so the job ends trapped with `disk_limit` and
 * nothing is written back.
 *
 * stdin is an in-memory read-only file holding the job's stdin; stdout and stderr are
 * written straight to the job's files. `{debug: false}` is passed, or the shim logs every
 * call to the console.
 */

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileCommand, dedupe, errorText, thrown, writeAll } from './js_worker_common.mjs';

/** The shim's classes, once `start` has imported it. */
let WASI, File, Directory, OpenFile, ConsoleStdout, PreopenDirectory;

class Unsupported extends Error {}
/** Thrown by a write that takes the job's files past its disk limit (see `limitWrites`). */
class DiskLimited extends Error {}

export function load(bytes) {
  return compileCommand(bytes, 'the WASI shim');
}

export async function start(data) {
  ({ WASI, File, Directory, OpenFile, ConsoleStdout, PreopenDirectory } = await import(pathToFileURL(data.entry).href));
  return run;
}

/** The in-memory copy of one host directory, as the contents Map the shim wants. */
function readTree(dir) {
  const contents = new Map();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) contents.set(entry.name, new Directory(readTree(full)));
    else if (entry.isFile()) contents.set(entry.name, new File(fs.readFileSync(full)));
    else {
      const kind = entry.isSymbolicLink() ? 'a symlink' : 'a special file';
      throw new Unsupported(`${full} is ${kind}, which browser_wasi_shim's in-memory file system cannot hold`);
    }
  }
  return contents;
}

function sameBytes(file, data) {
  if (!fs.existsSync(file)) return false;
  const stat = fs.lstatSync(file);
  if (!stat.isFile() || stat.size !== data.byteLength) return false;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(fs.readFileSync(file));
}

/** Make the host directory `dir` hold exactly what `contents` holds. */
function store(dir, contents) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!contents.has(entry.name)) fs.rmSync(path.join(dir, entry.name), { recursive: true, force: true });
  }
  for (const [name, inode] of contents) {
    const full = path.join(dir, name);
    let stat = null;
    try {
      stat = fs.lstatSync(full);
    } catch (err) {
      // not there yet
    }
    if (inode instanceof Directory) {
      if (stat && !stat.isDirectory()) {
        fs.rmSync(full, { force: true });
        stat = null;
      }
      if (!stat) fs.mkdirSync(full);
      store(full, inode.contents);
    } else if (inode instanceof File) {
      if (stat && !stat.isFile()) fs.rmSync(full, { recursive: true, force: true });
      if (!sameBytes(full, inode.data)) fs.writeFileSync(full, inode.data);
    }
  }
}

/** One tree per distinct host directory, and a PreopenDirectory per guest path. */
function preopen(pairs) {
  const trees = new Map(); // real host path -> contents
  const fds = [];
  for (const [guest, host] of pairs) {
    const real = fs.realpathSync(host);
    if (!fs.statSync(real).isDirectory()) throw new Error(`${host} is not a directory`);
    if (!trees.has(real)) trees.set(real, readTree(real));
    fds.push(new PreopenDirectory(guest, trees.get(real)));
  }
  return { trees, fds };
}

/** What a directory entry costs beyond its bytes (as `wasitest.runner.disk` counts). */
const INODE_BYTES = 256;

function treeBytes(contents) {
  let total = 0;
  for (const inode of contents.values()) {
    total += INODE_BYTES;
    if (inode instanceof Directory) total += treeBytes(inode.contents);
    else if (inode instanceof File) total += inode.data.byteLength;
  }
  return total;
}

/** Wrap the calls that grow the in-memory files, so that they end the job past `limit`. */
function limitWrites(wasi, trees, limit) {
  if (!limit) return;
  const every = Math.max(1, Math.floor(limit / 8));
  const measure = () => [...trees.values()].reduce((sum, contents) => sum + treeBytes(contents), 0);
  const base = measure(); // the test data copied in is not the job's writing
  let unmeasured = 0;
  const check = () => {
    if (unmeasured < every) return;
    unmeasured = 0;
    const used = measure() - base;
    if (used > limit) {
      const mib = (bytes) => `${Number.isInteger(bytes / 1048576) ? bytes / 1048576 : (bytes / 1048576).toFixed(1)} MiB`;
      throw new DiskLimited(`wrote past the ${mib(limit)} disk limit into its in-memory files (${mib(used)})`);
    }
  };
  const written = (where) => new DataView(wasi.inst.exports.memory.buffer).getUint32(where, true);
  const wrap = (name, cost) => {
    const original = wasi.wasiImport[name];
    wasi.wasiImport[name] = (...args) => {
      const result = original(...args);
      unmeasured += cost(args);
      check();
      return result;
    };
  };
  // stdout and stderr (fds 1 and 2) go to the job's files, not to the trees
  wrap('fd_write', (args) => (args[0] > 2 ? written(args[3]) : 0));
  wrap('fd_pwrite', (args) => (args[0] > 2 ? written(args[4]) : 0));
  for (const name of ['path_open', 'path_create_directory', 'path_symlink', 'path_link', 'path_rename']) {
    wrap(name, () => INODE_BYTES);
  }
  wrap('fd_allocate', (args) => Number(args[2]));
  wrap('fd_filestat_set_size', (args) => Number(args[1]));
}

function writer(fd) {
  return new ConsoleStdout((data) => writeAll(fd, data));
}

function run(job) {
  let trees;
  let dirs;
  try {
    ({ trees, fds: dirs } = preopen(job.preopens));
  } catch (err) {
    if (err instanceof Unsupported) return { status: 'unsupported', unsupported: err.message };
    return { status: 'error', error: `cannot set up the preopened directories: ${errorText(err)}` };
  }
  const stdin = new File(fs.readFileSync(job.fds[0]), { readonly: true });
  const fds = [new OpenFile(stdin), writer(job.fds[1]), writer(job.fds[2]), ...dirs];
  const env = dedupe(job.env).map(([key, value]) => `${key}=${value}`);
  const wasi = new WASI(job.args, env, fds, { debug: false });
  limitWrites(wasi, trees, job.disk_limit);
  let answer;
  let phase = 'instantiate';
  try {
    const instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: wasi.wasiImport });
    phase = 'start';
    answer = { status: 'exit', exit_code: wasi.start(instance) };
  } catch (err) {
    // The shim throws plain strings for what it does not implement (sockets, proc_raise):
    // the instance ends there, as on a trap.
    // nothing is written back past the disk limit
    if (err instanceof DiskLimited) return { status: 'trap', trap_message: err.message, phase };
    answer = typeof err === 'string'
      ? { status: 'trap', trap_message: `browser_wasi_shim: ${err}`, phase }
      : thrown(err, phase);
    if (phase === 'instantiate') return answer;
  }
  try {
    for (const [real, contents] of trees) store(real, contents);
  } catch (err) {
    return { status: 'error', error: `cannot write the in-memory files back: ${errorText(err)}` };
  }
  return answer;
}
