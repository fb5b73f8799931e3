#!/usr/bin/env node
// Entry point: the whole CLI is one bundled module (npm run build, scripts/build.js); start-up
// parses that one file instead of resolving hundreds of modules (docs/bench.md, "Lean and fast").
const {run} = await import('../dist/stconf.js')

await run()
