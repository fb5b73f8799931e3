// Version history in serve's data dir, with the content of every version.
//
//   <data>/journal/history/<env>/<key>/*.jsonl   versions of (env, key): an append-only segment log,
//                                                 one line per version, small content inline in it
//   <data>/blobs/ab/abcdef...                     content over INLINE_MAX_BYTES, by sha256, written once
//
// One log per key, so a push appends one line to its key's log (one fsync, whatever the size of the
// history), pushes to different keys never wait for each other, and `history` reads the key's newest
// lines from the end of its newest segment. Each segment's summary (first and last version) lets
// `get` go straight to the segment that holds a version.
//
// Content up to INLINE_MAX_BYTES (nearly every config file) is stored in the version's own line, as
// text when the bytes are UTF-8 that decodes and encodes back to the same bytes, else as base64. So a
// version with its content is one append and one fsync: no blob file, no directory fsync. The
// embedded store reads the current version from the newest line (store/embedded.ts). Lines written
// before content went inline have neither field: their content is the blob named by their sha256.
//
// With ZooKeeper, serve appends a version's line beside the store's commit, not after it (one wait,
// not two). Should the commit fail, a withdrawal line follows: the same version with `withdrawn`
// (why), and no content. Readers skip a withdrawn version as if it had never been written; its number
// stays used (lastVersion counts it), so a version number never names two contents.
import {readdir, readFile, stat} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import type {VersionMeta} from '../model.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {encodeKey} from '../api/wire.js'
import {summarizeVersions, type VersionRange} from './journal-summaries.js'
import {migrateOnce} from './migrate.js'
import {readNewestRecord, SegmentLog} from './segment-log.js'
import type {HistoryStore, StoredVersion} from './storage-types.js'

export {summarizeVersions, type VersionRange} from './journal-summaries.js'
export {encodeKey} from '../api/wire.js'

/** Content up to this size lives in the version's history line; larger content goes to a blob. */
export const INLINE_MAX_BYTES = 64 * 1024

/** One line of a key's history log: the version's meta and, when small, its content. */
export type HistoryRecord = VersionMeta & {text?: string; base64?: string; withdrawn?: string}

export interface HistoryOptions {
  maxSegmentBytes?: number
  sync?: (handle: FileHandle) => Promise<void>
}

export function historyDir(dataDir: string): string {
  return join(dataDir, 'journal', 'history')
}

/** The line stored for a version: its content inline when it is small enough. */
export function historyRecord(meta: VersionMeta, content: Buffer): HistoryRecord {
  if (content.length > INLINE_MAX_BYTES) return meta
  const text = content.toString('utf8')
  // Only bytes that survive the round trip are stored as text (invalid UTF-8 would come back changed).
  return Buffer.byteLength(text) === content.length && Buffer.from(text, 'utf8').equals(content) ? {...meta, text} : {...meta, base64: content.toString('base64')}
}

function metaOf(record: HistoryRecord): VersionMeta {
  const {text: _text, base64: _base64, withdrawn: _withdrawn, ...meta} = record
  return meta
}

/**
 * Read newest first, accepts the lines of versions that stand: a withdrawal line is seen before the
 * line it withdraws (it was appended after it), so one pass knows which to skip.
 */
function standing(): (record: HistoryRecord) => boolean {
  const withdrawn = new Set<number>()
  return (record) => {
    if (typeof record.version !== 'number') return false
    if (record.withdrawn !== undefined) {
      withdrawn.add(record.version)
      return false
    }

    return !withdrawn.has(record.version)
  }
}

function inlineContent(record: HistoryRecord): Buffer | undefined {
  if (record.text !== undefined) return Buffer.from(record.text, 'utf8')
  if (record.base64 !== undefined) return Buffer.from(record.base64, 'base64')
  return undefined
}

// The order of localeCompare (as the ZooKeeper store sorts), without building a collator per comparison.
const byKey = new Intl.Collator()

/** At most `limit` of `fn` running at once: a listing of thousands of keys must not open them all together. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = Array.from({length: items.length})
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}

export class History implements HistoryStore {
  private readonly logs = new Map<string, Promise<SegmentLog<HistoryRecord, VersionRange>>>()
  private readonly blobsInFlight = new Map<string, Promise<void>>()
  /** the newest version's meta per key (null: none), once read or appended; serve is the only writer */
  private readonly newest = new Map<string, VersionMeta | null>()

  constructor(
    private readonly dataDir: string,
    private readonly options: HistoryOptions = {},
  ) {}

  async lastVersion(env: string, key: string): Promise<number> {
    return (await this.log(env, key)).segments().at(-1)?.summary.last ?? 0
  }

  async latest(env: string, key: string): Promise<VersionMeta | null> {
    const id = `${env}/${key}`
    const known = this.newest.get(id)
    if (known !== undefined) return known
    const opened = this.logs.get(id)
    let record: HistoryRecord | undefined
    const accept = standing()
    if (opened) {
      // Open in this process: read through the log, which stops at what is acknowledged.
      for await (const r of (await opened).newestFirst()) {
        if (!accept(r)) continue
        record = r
        break
      }
    } else {
      await migrateOnce(this.dataDir)
      record = await readNewestRecord<HistoryRecord>(this.keyDir(env, key), accept)
    }

    const meta = record ? metaOf(record) : null
    // An append that finished meanwhile has set a newer one: keep it.
    if (!this.newest.has(id)) this.newest.set(id, meta)
    return this.newest.get(id) ?? null
  }

  async latestOfEnv(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    await migrateOnce(this.dataDir)
    const names = await readdir(join(historyDir(this.dataDir), env)).catch(() => [] as string[])
    const read = await mapLimit(names, 64, async (encoded) => {
      const key = decodeURIComponent(encoded)
      const meta = await this.latest(env, key)
      return meta ? {key, meta} : null
    })
    return read.filter((entry) => entry !== null).sort((a, b) => byKey.compare(a.key, b.key))
  }

  async envs(): Promise<string[]> {
    await migrateOnce(this.dataDir)
    return readdir(historyDir(this.dataDir)).catch(() => [] as string[])
  }

  async append(env: string, key: string, meta: VersionMeta, content: Buffer): Promise<void> {
    const log = await this.log(env, key)
    const last = log.segments().at(-1)?.summary.last ?? 0
    if (meta.version <= last) throw new Error(`history of ${env}/${key}: version ${meta.version} is not after ${last}`)
    // A blob must be durable before the line that names it.
    if (content.length > INLINE_MAX_BYTES) await this.putBlob(meta.sha256, content)
    const id = `${env}/${key}`
    try {
      await log.append(historyRecord(meta, content))
    } catch (error) {
      this.newest.delete(id) // read again from what is on disk, not from what a reader may have seen
      throw error
    }

    this.newest.set(id, meta)
  }

  async withdraw(env: string, key: string, meta: VersionMeta, why: string): Promise<void> {
    const log = await this.log(env, key)
    const id = `${env}/${key}`
    this.newest.delete(id)
    try {
      await log.append({...meta, withdrawn: why})
    } finally {
      this.newest.delete(id) // the newest standing version is read again, from what is on disk
    }
  }

  async get(env: string, key: string, version: number): Promise<VersionMeta | null> {
    const record = await this.record(env, key, version)
    return record ? metaOf(record) : null
  }

  async read(env: string, key: string, version: number): Promise<StoredVersion | null> {
    const record = await this.record(env, key, version)
    if (!record) return null
    const content = inlineContent(record) ?? (await this.getBlob(record.sha256))
    if (!content) throw new Error(`content of ${env}/${key} version ${version} is missing: no blob ${record.sha256} in ${join(this.dataDir, 'blobs')}`)
    return {meta: metaOf(record), content}
  }

  async list(env: string, key: string, limit = 100): Promise<VersionMeta[]> {
    const out: VersionMeta[] = []
    if (limit <= 0) return out
    const accept = standing()
    for await (const record of (await this.log(env, key)).newestFirst()) {
      if (!accept(record)) continue
      out.push(metaOf(record))
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

  private async record(env: string, key: string, version: number): Promise<HistoryRecord | null> {
    const log = await this.log(env, key)
    // The version's line, and a withdrawal of it if there is one: in the same segment or, when the
    // log rotated between the two, at the start of the next. Newest segment first, so a withdrawal
    // is met before the line it withdraws.
    for (const segment of log.segments().filter((s) => s.summary.first <= version && version <= s.summary.last).reverse()) {
      // Versions rise through a segment: read it from the end nearer to the one asked for.
      const {first, last} = segment.summary
      const forward = version - first < last - version
      let found: HistoryRecord | null = null
      for await (const record of forward ? log.readSegmentForward(segment.name) : log.readSegmentBackward(segment.name)) {
        if (record.version !== version) {
          if (forward && record.version > version) break
          continue
        }

        if (record.withdrawn !== undefined) return null
        if (!forward) return record // read backward, a withdrawal would have come first
        found = record
      }

      if (found) return found
    }

    return null
  }

  private async putBlob(hash: string, content: Buffer): Promise<void> {
    // Two writers of the same bytes share one write.
    let writing = this.blobsInFlight.get(hash)
    if (!writing) {
      writing = this.writeBlob(hash, content).finally(() => this.blobsInFlight.delete(hash))
      this.blobsInFlight.set(hash, writing)
    }

    await writing
  }

  private async writeBlob(hash: string, content: Buffer): Promise<void> {
    const path = this.blobPath(hash)
    const exists = await stat(path).then(
      () => true,
      () => false,
    )
    if (!exists) await writeFileAtomic(path, content, 0o600)
  }

  private async getBlob(hash: string): Promise<Buffer | null> {
    try {
      return await readFile(this.blobPath(hash))
    } catch {
      return null
    }
  }

  private log(env: string, key: string): Promise<SegmentLog<HistoryRecord, VersionRange>> {
    const id = `${env}/${key}`
    let log = this.logs.get(id)
    if (!log) {
      // Whoever opens history first (serve, or a local command) migrates an old layout before it.
      log = migrateOnce(this.dataDir).then(() => SegmentLog.open<HistoryRecord, VersionRange>({
        dir: this.keyDir(env, key),
        maxSegmentBytes: this.options.maxSegmentBytes ?? 1024 * 1024,
        summarize: summarizeVersions,
        sync: this.options.sync,
      }))
      log.catch(() => this.logs.delete(id))
      this.logs.set(id, log)
    }

    return log
  }

  private keyDir(env: string, key: string): string {
    return join(historyDir(this.dataDir), env, encodeKey(key))
  }

  private blobPath(hash: string): string {
    return join(this.dataDir, 'blobs', hash.slice(0, 2), hash)
  }
}
