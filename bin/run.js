#!/usr/bin/env node
// Entry point. Kept tiny: start-up time is a feature of a CLI (see docs/bench.md).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
