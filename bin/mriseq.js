#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('mriseq: not built yet; run `npm run setup` in ' + path.join(__dirname, '..'));
  process.exit(1);
}
// jemalloc (MRISEQ_MALLOC; src/engine/malloc-node.ts) can only replace malloc when a process
// starts: start once more with it preloaded, unless this is that process (the mark), it is already
// there, or it is not installed (the engine's summary then says so).
// (A dist/ built before the launcher existed has no malloc-node.js: it runs as it was built.)
const malloc = path.join(__dirname, '..', 'dist', 'engine', 'malloc-node.js');
let relaunched = false;
if (fs.existsSync(malloc)) {
  try {
    relaunched = require(malloc).relaunchWithAllocator();
  } catch (e) {
    // a bad MRISEQ_MALLOC: one line, as every CLI error
    console.error(`mriseq: ${e instanceof Error ? e.message : e}`);
    process.exit(2);
  }
}
if (!relaunched)
  require(entry)
    .main(process.argv)
    .then((code) => {
      process.exitCode = code;
    });
