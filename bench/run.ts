// `npm run bench`: every figure is reported next to a baseline measured in the same run.
import {benchCore} from './core.js'

const results: Record<string, unknown> = {core: await benchCore()}
try {
  const {benchAgent} = await import('./agent.js')
  results.agent = await benchAgent()
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
}

console.log(JSON.stringify(results, null, 2))
