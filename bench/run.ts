// `npm run bench`: every figure is reported next to a baseline measured in the same run.
import {benchAgent} from './agent.js'
import {benchCore} from './core.js'
import {benchConfd, benchMemory, benchStartup, benchSteps} from './lean.js'
import {benchStorage} from './storage.js'
import {benchTui} from './tui.js'

const results = {
  core: await benchCore(),
  agent: await benchAgent(),
  storage: await benchStorage(),
  tui: await benchTui(),
  // issue 10's start-up, steps, confd side by side (with CONFD set) and 10,000-change memory figures
  lean: {startup: await benchStartup(), steps: await benchSteps(), confd: benchConfd(), memory: await benchMemory()},
}
console.log(JSON.stringify(results, null, 2))
// Clients of stopped servers may keep reconnect timers alive; the run is over.
process.exit(0)
