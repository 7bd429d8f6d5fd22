#!/usr/bin/env node
// @ts-check
/**
 * The "mriseq (TypeScript)" Jupyter kernel: tslab's TypeScript compiler behind our own executor
 * and Jupyter message layer.
 *
 * Why not stock `tslab kernel`: tslab 1.0.22's replies omit the `status` field the message spec
 * requires, errors arrive as stderr text, there is no history_request, comm_info has the wrong
 * msg_type, there are no comms, unknown requests get no reply, one malformed message stops its
 * loop, only hmac-sha256 is checked, an interrupt leaves awaited work running, tracebacks name
 * transpiled lines, and some TypeScript fails (`await (async () => 1)()`, `{ seed }` of an earlier
 * cell, declarations of a cell that throws). We keep tslab's converter (type checking, transpiling,
 * completion, hover docs) from node_modules unchanged and own the rest:
 *   kernel/wire.js        connection file, signing, message checks
 *   kernel/kernel.js      sockets, request handlers, execution queue, interrupts, display transport
 *   kernel/executor.js    running cells, declarations, tracebacks mapped to cell lines
 *   kernel/typescript.js  tslab's converter with source maps; is_complete; declaration helpers
 *   kernel/comm.js        Jupyter comms both ways
 *
 * This file makes `import ... from 'mriseq'` (and mriseq's dependencies) resolve from any notebook
 * folder, both for Node's runtime `require` and for tslab's TypeScript type checker, and starts
 * the kernel.
 *
 * Usage (written into kernel.json by `mriseq kernel install`):
 *   node kernel/launcher.js --config-path <connection_file>
 */
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

const ROOT = path.resolve(__dirname, '..');
const ROOT_MODULES = path.join(ROOT, 'node_modules');

// ---------------------------------------------------------------------------------------------
// Module resolution: Node runtime.

/** Maps `mriseq` and `mriseq/sub/path` to this checkout, whatever the notebook's folder. */
function installRuntimeResolution() {
  const original = /** @type {any} */ (Module)._resolveFilename;
  /** @type {any} */ (Module)._resolveFilename = function (
    /** @type {string} */ request,
    /** @type {unknown[]} */ ...rest
  ) {
    if (request === 'mriseq' || request.startsWith('mriseq/')) {
      try {
        return original.call(this, request, ...rest);
      } catch {
        const target = request === 'mriseq' ? ROOT : path.join(ROOT, request.slice('mriseq/'.length));
        return original.call(this, target, ...rest);
      }
    }
    return original.call(this, request, ...rest);
  };
  // NODE_PATH is the documented fallback after the node_modules chain: a notebook's own
  // node_modules still wins, mriseq's dependencies are found otherwise.
  const extra = [ROOT_MODULES];
  const current = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
  process.env.NODE_PATH = [...current, ...extra.filter((p) => !current.includes(p))].join(path.delimiter);
  /** @type {any} */ (Module)._initPaths();
}

// ---------------------------------------------------------------------------------------------
// Module resolution: tslab's TypeScript type checker (a watch program over a virtual cell file in
// the notebook's folder). We forward `<cwd>/node_modules/<pkg>` to this checkout when the notebook
// folder has no such package, the way tslab itself forwards `node_modules/tslab`.

/** @param {string} cwd */
function installTypeResolution(cwd) {
  const ts = require(
    require.resolve('@tslab/typescript-for-tslab', { paths: [path.dirname(require.resolve('tslab'))] }),
  );
  const sys = ts.sys;
  const local = path.join(cwd, 'node_modules');
  /** @param {string} p @returns {string} */
  const forward = (p) => {
    const rel = path.relative(local, p);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return p;
    const parts = rel.split(path.sep);
    const pkgLen = parts[0].startsWith('@') ? 2 : 1;
    // A package the notebook folder has itself is left alone (as Node's require does at run time).
    if (fs.existsSync(path.join(local, ...parts.slice(0, pkgLen)))) return p;
    if (parts[0] === 'mriseq') return path.join(ROOT, ...parts.slice(1));
    return path.join(ROOT_MODULES, ...parts);
  };
  const { fileExists, directoryExists, readFile, readDirectory, realpath, getDirectories } = sys;
  sys.fileExists = (/** @type {string} */ p) => fileExists.call(sys, forward(p));
  sys.directoryExists = (/** @type {string} */ p) => p === local || directoryExists.call(sys, forward(p));
  sys.readFile = (/** @type {string} */ p, /** @type {string|undefined} */ enc) =>
    readFile.call(sys, forward(p), enc);
  sys.readDirectory = (/** @type {string} */ p, /** @type {unknown[]} */ ...rest) =>
    readDirectory.call(sys, forward(p), ...rest);
  if (getDirectories) sys.getDirectories = (/** @type {string} */ p) => getDirectories.call(sys, forward(p));
  // Resolved files get their real path, so the checker sees one copy of each declaration file
  // and follows the package's own imports from where it really lives.
  if (realpath) sys.realpath = (/** @type {string} */ p) => realpath.call(sys, forward(p));
}

/** Start-up timing (MRISEQ_KERNEL_TIMING=1): milliseconds since the process started, to stderr. */
const mark = process.env.MRISEQ_KERNEL_TIMING
  ? (/** @type {string} */ what) => process.stderr.write(`mriseq kernel timing: ${performance.now().toFixed(0)} ms ${what}\n`)
  : () => undefined;

function main() {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === '--config-path' || a === '-f');
  const configPath = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config-path='))?.split('=')[1];
  if (!configPath) {
    console.error('usage: node kernel/launcher.js --config-path <connection_file>');
    process.exit(2);
  }
  const { readConnectionFile, ConnectionFileError } = require('./wire.js');
  let conn;
  try {
    conn = readConnectionFile(configPath);
  } catch (e) {
    // One line a user (or Jupyter's server log) can act on, not a stack trace.
    console.error(e instanceof ConnectionFileError ? e.message : `mriseq kernel: ${e}`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))
    console.error(
      `mriseq kernel: mriseq is not built (no ${path.join(ROOT, 'dist')}); run \`npm run setup\` in ${ROOT}`,
    );
  installRuntimeResolution();
  const { Kernel, log } = require('./kernel.js');
  mark('kernel modules loaded');
  const kernel = new Kernel(conn, { beforeTypeScript: () => installTypeResolution(process.cwd()), mark });
  process.on('SIGINT', () => kernel.interrupt());
  process.on('uncaughtException', (err) => console.error('Uncaught exception:', err));
  process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
  kernel.start().then(
    () => {
      mark('sockets bound');
      // Warm up after the first kernel_info reply (the client then knows we are up), or now if no
      // client asks within half a second.
      setTimeout(() => kernel.warmUp(), 500).unref();
    },
    (e) => {
      log('could not start:', e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
