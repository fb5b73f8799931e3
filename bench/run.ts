// `npm run bench`: every figure is reported next to a baseline measured in the same run.
import {benchAgent} from './agent.js'
import {benchCore} from './core.js'
import {benchStorage} from './storage.js'

const results = {core: await benchCore(), agent: await benchAgent(), storage: await benchStorage()}
console.log(JSON.stringify(results, null, 2))
// Clients of stopped servers may keep reconnect timers alive; the run is over.
process.exit(0)
