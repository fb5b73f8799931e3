// The embedded store: current meta per key in <data>/current/<env>/<encoded key>.json, content in the
// history's blobs. One serve process is the only writer (serve.lock), so a per-key lock in this
// process is the whole story: with it, two racing commits from the same version cannot both win.
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {conflict} from '../errors.js'
import type {VersionMeta} from '../model.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {KeyedLock} from '../keyed-lock.js'
import {encodeKey} from '../api/wire.js'
import type {ConfigStore, HistoryStore, StoredCurrent} from './types.js'

export class EmbeddedStore implements ConfigStore {
  readonly mode = 'embedded' as const
  private readonly lock = new KeyedLock()

  constructor(private readonly dataDir: string, private readonly history: HistoryStore) {}

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  async getMeta(env: string, key: string): Promise<VersionMeta | null> {
    try {
      return JSON.parse(await readFile(this.path(env, key), 'utf8')) as VersionMeta
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async get(env: string, key: string): Promise<StoredCurrent | null> {
    const meta = await this.getMeta(env, key)
    if (!meta) return null
    const content = await this.history.getBlob(meta.sha256)
    if (!content) throw new Error(`blob ${meta.sha256} of ${env}/${key} is missing from the data dir`)
    return {meta, content}
  }

  async commit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number): Promise<void> {
    await this.lock.run(`${env}/${key}`, async () => {
      const current = await this.getMeta(env, key)
      if ((current?.version ?? 0) !== previous) throw conflict(`conflict: ${env}/${key} is at version ${current?.version ?? 0}, not ${previous}`)
      await this.history.putBlob(content)
      await writeFileAtomic(this.path(env, key), JSON.stringify(meta) + '\n', 0o600)
    })
  }

  async envs(): Promise<string[]> {
    return readdir(join(this.dataDir, 'current')).catch(() => [] as string[])
  }

  async list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    const names = await readdir(join(this.dataDir, 'current', env)).catch(() => [] as string[])
    // All at once (libuv's thread pool bounds the parallelism): one read after another made a list of
    // 5,000 keys take seconds.
    const read = await Promise.all(
      names
        .filter((n) => n.endsWith('.json'))
        .map(async (name) => {
          const key = decodeURIComponent(name.slice(0, -5))
          const meta = await this.getMeta(env, key)
          return meta ? {key, meta} : null
        }),
    )
    return read.filter((entry) => entry !== null).sort((a, b) => a.key.localeCompare(b.key))
  }

  private path(env: string, key: string): string {
    return join(this.dataDir, 'current', env, `${encodeKey(key)}.json`)
  }
}
