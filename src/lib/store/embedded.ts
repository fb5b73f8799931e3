// The embedded store: the current version of a key is the newest line of its history log
// (server/history.ts), content inline in that line (or in a blob when it is large). So a commit is
// one append and one fsync of the key's history, and there is nothing else to keep in step with it:
// no pointer file, no content file, nothing to reconcile after a crash.
// One serve process is the only writer (serve.lock), so a per-key lock in this process is the whole
// story: with it, two racing commits from the same version cannot both win.
import {conflict} from '../errors.js'
import type {VersionMeta} from '../model.js'
import {KeyedLock} from '../keyed-lock.js'
import type {ConfigStore, HistoryStore, StoredCurrent} from './types.js'

export class EmbeddedStore implements ConfigStore {
  readonly mode = 'embedded' as const
  readonly commitsHistory = true
  private readonly lock = new KeyedLock()

  constructor(private readonly history: HistoryStore) {}

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  getMeta(env: string, key: string): Promise<VersionMeta | null> {
    return this.history.latest(env, key)
  }

  async get(env: string, key: string): Promise<StoredCurrent | null> {
    const meta = await this.history.latest(env, key)
    return meta ? this.history.read(env, key, meta.version) : null
  }

  async commit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number): Promise<void> {
    await this.lock.run(`${env}/${key}`, async () => {
      const current = await this.history.latest(env, key)
      if ((current?.version ?? 0) !== previous) throw conflict(`conflict: ${env}/${key} is at version ${current?.version ?? 0}, not ${previous}`)
      await this.history.append(env, key, meta, content)
    })
  }

  envs(): Promise<string[]> {
    return this.history.envs()
  }

  /** Reads each key's newest line (64 at a time) the first time, then answers from memory. */
  list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    return this.history.latestOfEnv(env)
  }
}
