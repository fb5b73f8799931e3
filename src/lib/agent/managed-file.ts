// One watched file: its spec (what the config says), its state (what the agent knows, file-state.ts)
// and its cache (cache.ts). The pipeline moves it; the agent reports it.
import type {FileSpec} from './config.js'
import {FileCache} from './cache.js'
import {FileState} from './file-state.js'
import type {FileReport} from './types.js'

export class ManagedFile {
  readonly state = new FileState()
  readonly cache: FileCache

  constructor(
    readonly spec: FileSpec,
    cacheRoot: string,
  ) {
    this.cache = new FileCache(cacheRoot, spec.key, spec.dest)
  }

  get key(): string {
    return this.spec.key
  }

  report(): FileReport {
    return this.state.report(this.spec)
  }
}
