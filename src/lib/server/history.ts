// Version history and content blobs in serve's data dir.
//
//   <data>/blobs/ab/abcdef...                          content by sha256, written once
//   <data>/journal/history/<env>/<key>/*.jsonl         versions of (env, key): an append-only segment log
//
// One log per key, so a push appends one line to its key's log (one fsync, whatever the size of the
// history), pushes to different keys never wait for each other, and `history` reads the key's newest
// lines from the end of its newest segment. Each segment's summary (first and last version) lets
// `get` go straight to the segment that holds a version.
import {readdir, readFile, stat} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import type {VersionMeta} from '../model.js'
import {sha256} from '../model.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {encodeKey} from '../api/wire.js'
import {summarizeVersions, type VersionRange} from './journal-summaries.js'
import {migrateOnce} from './migrate.js'
import {SegmentLog} from './segment-log.js'
import type {HistoryStore} from './storage-types.js'

export {summarizeVersions, type VersionRange} from './journal-summaries.js'
export {encodeKey} from '../api/wire.js'

export interface HistoryOptions {
  maxSegmentBytes?: number
  sync?: (handle: FileHandle) => Promise<void>
}

export function historyDir(dataDir: string): string {
  return join(dataDir, 'journal', 'history')
}

export class History implements HistoryStore {
  private readonly logs = new Map<string, Promise<SegmentLog<VersionMeta, VersionRange>>>()
  private readonly blobsInFlight = new Map<string, Promise<void>>()

  constructor(
    private readonly dataDir: string,
    private readonly options: HistoryOptions = {},
  ) {}

  async putBlob(content: Buffer): Promise<string> {
    const hash = sha256(content)
    // Two writers of the same bytes (the center and the embedded store's commit) share one write.
    let writing = this.blobsInFlight.get(hash)
    if (!writing) {
      writing = this.writeBlob(hash, content).finally(() => this.blobsInFlight.delete(hash))
      this.blobsInFlight.set(hash, writing)
    }

    await writing
    return hash
  }

  private async writeBlob(hash: string, content: Buffer): Promise<void> {
    const path = this.blobPath(hash)
    const exists = await stat(path).then(
      () => true,
      () => false,
    )
    if (!exists) await writeFileAtomic(path, content, 0o600)
  }

  async getBlob(hash: string): Promise<Buffer | null> {
    try {
      return await readFile(this.blobPath(hash))
    } catch {
      return null
    }
  }

  async lastVersion(env: string, key: string): Promise<number> {
    return (await this.log(env, key)).segments().at(-1)?.summary.last ?? 0
  }

  async append(env: string, key: string, meta: VersionMeta): Promise<void> {
    const log = await this.log(env, key)
    const last = log.segments().at(-1)?.summary.last ?? 0
    if (meta.version <= last) throw new Error(`history of ${env}/${key}: version ${meta.version} is not after ${last}`)
    await log.append(meta)
  }

  async get(env: string, key: string, version: number): Promise<VersionMeta | null> {
    const log = await this.log(env, key)
    const segment = log.segments().find((s) => s.summary.first <= version && version <= s.summary.last)
    if (!segment) return null
    // Versions rise through a segment: read it from the end nearer to the one asked for.
    const {first, last} = segment.summary
    const records = version - first < last - version ? log.readSegmentForward(segment.name) : log.readSegmentBackward(segment.name)
    for await (const meta of records) if (meta.version === version) return meta
    return null
  }

  async list(env: string, key: string, limit = 100): Promise<VersionMeta[]> {
    const out: VersionMeta[] = []
    if (limit <= 0) return out
    for await (const meta of (await this.log(env, key)).newestFirst()) {
      out.push(meta)
      if (out.length >= limit) break
    }

    return out
  }

  async keys(): Promise<Array<{env: string; key: string}>> {
    const root = historyDir(this.dataDir)
    const out: Array<{env: string; key: string}> = []
    for (const env of await readdir(root).catch(() => [] as string[])) {
      for (const encoded of await readdir(join(root, env)).catch(() => [] as string[])) {
        out.push({env, key: decodeURIComponent(encoded)})
      }
    }

    return out
  }

  private log(env: string, key: string): Promise<SegmentLog<VersionMeta, VersionRange>> {
    const id = `${env}/${key}`
    let log = this.logs.get(id)
    if (!log) {
      // Whoever opens history first (serve, or a local command) migrates an old layout before it.
      log = migrateOnce(this.dataDir).then(() => SegmentLog.open<VersionMeta, VersionRange>({
        dir: join(historyDir(this.dataDir), env, encodeKey(key)),
        maxSegmentBytes: this.options.maxSegmentBytes ?? 1024 * 1024,
        summarize: summarizeVersions,
        sync: this.options.sync,
      }))
      log.catch(() => this.logs.delete(id))
      this.logs.set(id, log)
    }

    return log
  }

  private blobPath(hash: string): string {
    return join(this.dataDir, 'blobs', hash.slice(0, 2), hash)
  }
}
