#!/usr/bin/env node
// Entry point. Kept tiny: start-up time is a feature of a CLI (see docs/bench.md).
// npm already enforces package.json "engines"; oclif's own check loads semver (~20 ms) on every run.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('@oclif/core/execute')

await execute({dir: import.meta.url})
