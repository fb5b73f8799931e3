#!/usr/bin/env node
// Entry point: the whole CLI is one bundled module (npm run build, scripts/build.js); start-up
// parses that one file instead of resolving hundreds of modules (docs/bench.md, "Lean and fast").
// Node >= 22.1 also keeps the compiled code of it on disk between runs (a no-op on Node 20).
import module from 'node:module'

module.enableCompileCache?.()
const {run} = await import('../dist/stconf.js')

await run()
