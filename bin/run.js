#!/usr/bin/env node
// Entry point: the CLI is bundled into CommonJS files (npm run build, scripts/build.js); start-up
// reads a few of them instead of resolving hundreds of modules (docs/bench.md, "CLI start-up").
// Node >= 22.1 also keeps their compiled code on disk between runs (a no-op on Node 20).
import module from 'node:module'

module.enableCompileCache?.()
const {run} = module.createRequire(import.meta.url)('../dist/stconf.cjs')

await run()
