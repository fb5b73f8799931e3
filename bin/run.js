#!/usr/bin/env node
// Entry point: the CLI is bundled into CommonJS files (npm run build, scripts/build.js); start-up
// reads a few of them instead of resolving hundreds of modules (docs/bench.md, "CLI start-up").
// This file is CommonJS too (bin/package.json): with no ES module on the way, Node never sets up
// its ES module loader for a run. Node >= 22.1 also keeps the compiled code of the bundle on disk
// between runs (a no-op on Node 20).
const {enableCompileCache} = require('node:module')

enableCompileCache?.()
require('../dist/stconf.cjs').run()
