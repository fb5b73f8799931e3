// An append-only log of JSON lines in size-rotated segment files, for what only grows (audit, history).
//
//   <dir>/0000000001.jsonl, 0000000002.jsonl ...   one record per line; appended and fsynced, never rewritten
//   <dir>/index.json                               one summary per sealed segment, rewritten only on rotation
//
// A write costs one append and one fsync whatever the size of the log, and appends that arrive while
// an fsync runs share the next one (group commit), so concurrent writers do not queue one fsync each.
// Readers skip whole segments by their summary (time range, versions, envs...) and read the others
// backwards from their end, so "the newest 20" reads a few KiB of a log of any size.
// A crash mid-append leaves a torn last line (no newline): readers skip it, and opening the log for
// writing cuts it off, so the next record starts on a line of its own.
import {mkdir, open, readdir, readFile, type FileHandle} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {syncDir, writeFileAtomic} from '../fs-atomic.js'

const SEGMENT_RE = /^\d{10}\.jsonl$/
const INDEX = 'index.json'
const NEWLINE = 0x0a
const READ_BLOCK = 64 * 1024
// The active segment's file stays open between appends for a moment (an open and a close are two of
// the few thread-pool round trips an append makes), for at most this many logs at once (one per key
// with history: a burst over thousands of keys must not run out of descriptors).
const KEEP_OPEN_MS = 1000
const KEEP_OPEN_MAX = 64
let keptOpen = 0

export interface SegmentLogOptions<T, S> {
  dir: string
  /** a segment is sealed once the next batch would take it past this size */
  maxSegmentBytes: number
  /** folds one record into its segment's summary (kept in the index, used by readers to skip segments); returns a new summary, never changes the one given */
  summarize: (summary: S | undefined, record: T) => S
  /** makes appended bytes durable; injectable so tests can count fsyncs */
  sync?: (handle: FileHandle) => Promise<void>
}

export interface Segment<S> {
  name: string
  summary: S
}

interface Pending<T> {
  records: T[]
  resolve: () => void
  reject: (error: unknown) => void
}

export class SegmentLog<T, S> {
  private readonly sealed: Array<Segment<S>>
  private active: {name: string; bytes: number; summary: S | undefined; named: boolean}
  private queue: Array<Pending<T>> = []
  private flushing = false
  /** the active segment, kept open after an append (KEEP_OPEN_MS); closed on rotation and when idle */
  private handle?: FileHandle
  private idle?: NodeJS.Timeout
  private readonly sync: (handle: FileHandle) => Promise<void>

  private constructor(
    private readonly options: SegmentLogOptions<T, S>,
    sealed: Array<Segment<S>>,
    active: SegmentLog<T, S>['active'],
  ) {
    this.sealed = sealed
    this.active = active
    this.sync = options.sync ?? ((handle) => handle.datasync())
  }

  /** Opens the log in `dir` (created on the first append, not before). */
  static async open<T, S>(options: SegmentLogOptions<T, S>): Promise<SegmentLog<T, S>> {
    const names = (await readdir(options.dir).catch(() => [] as string[])).filter((n) => SEGMENT_RE.test(n)).sort()
    const indexed = await readIndex<S>(join(options.dir, INDEX))
    const sealed = indexed.filter((s) => names.includes(s.name))
    const unindexed = names.filter((n) => !sealed.some((s) => s.name === n) && (sealed.length === 0 || n > sealed.at(-1)!.name))
    const next = names.length === 0 ? 1 : Number(names.at(-1)!.slice(0, 10)) + 1
    let active: SegmentLog<T, S>['active'] = {name: segmentName(next), bytes: 0, summary: undefined, named: false}
    // Segments missing from the index: a crash between sealing one and rewriting the index leaves
    // one behind; the last one is the segment that was being appended to.
    for (const [i, name] of unindexed.entries()) {
      const scan = await scanSegment(join(options.dir, name), options.summarize)
      if (i < unindexed.length - 1) {
        if (scan.summary !== undefined) sealed.push({name, summary: scan.summary})
        continue
      }

      if (scan.goodBytes < scan.bytes) await truncateTornTail(join(options.dir, name), scan.goodBytes, options.sync)
      active = {name, bytes: scan.goodBytes, summary: scan.summary, named: true}
    }

    const log = new SegmentLog(options, sealed, active)
    if (unindexed.length > 1 || sealed.length !== indexed.length) await log.writeIndex()
    return log
  }

  get dir(): string {
    return this.options.dir
  }

  /** Resolves once the record is durable. */
  append(record: T): Promise<void> {
    return this.appendMany([record])
  }

  /** Resolves once every record is durable; they are written in this order, with no others between. */
  appendMany(records: T[]): Promise<void> {
    if (records.length === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.queue.push({records, resolve, reject})
      if (!this.flushing) void this.flush()
    })
  }

  /** Every segment holding acknowledged records, oldest first (the active one last). */
  segments(): Array<Segment<S>> {
    const out = [...this.sealed]
    if (this.active.summary !== undefined) out.push({name: this.active.name, summary: this.active.summary})
    return out
  }

  /** Records newest first, skipping the segments `skip` rules out by their summary. */
  async *newestFirst(skip: (summary: S) => boolean = () => false): AsyncGenerator<T> {
    const segments = this.segments()
    for (let i = segments.length - 1; i >= 0; i--) {
      if (skip(segments[i].summary)) continue
      yield* this.readSegmentBackward(segments[i].name)
    }
  }

  /** The records of one segment, newest first; only acknowledged bytes, torn or corrupt lines skipped. */
  async *readSegmentBackward(name: string): AsyncGenerator<T> {
    const end = name === this.active.name ? this.active.bytes : undefined
    for await (const line of readLinesBackward(join(this.options.dir, name), end)) {
      const record = parseLine<T>(line)
      if (record !== undefined) yield record
    }
  }

  /** The records of one segment, oldest first (reads the segment whole: at most about maxSegmentBytes). */
  async *readSegmentForward(name: string): AsyncGenerator<T> {
    let data: Buffer
    try {
      data = await readFile(join(this.options.dir, name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }

    const end = name === this.active.name ? Math.min(this.active.bytes, data.length) : data.length
    let start = 0
    for (let nl = data.indexOf(NEWLINE); nl !== -1 && nl < end; nl = data.indexOf(NEWLINE, start)) {
      const record = parseLine<T>(data.subarray(start, nl))
      if (record !== undefined) yield record
      start = nl + 1
    }
  }

  /** Waits for appends in flight. */
  async drain(): Promise<void> {
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve))
  }

  private async flush(): Promise<void> {
    this.flushing = true
    while (this.queue.length > 0) {
      // Everything that queued while the previous fsync ran goes out in one write and one fsync.
      const batch = this.queue.splice(0)
      try {
        await this.write(batch.flatMap((p) => p.records))
        for (const p of batch) p.resolve()
      } catch (error) {
        for (const p of batch) p.reject(error)
      }
    }

    this.flushing = false
  }

  private async write(records: T[]): Promise<void> {
    let chunk: Buffer[] = []
    let chunkBytes = 0
    let summary = this.active.summary
    for (const record of records) {
      const line = Buffer.from(JSON.stringify(record) + '\n')
      if (this.active.bytes + chunkBytes > 0 && this.active.bytes + chunkBytes + line.length > this.options.maxSegmentBytes) {
        if (chunkBytes > 0) await this.writeChunk(chunk, chunkBytes, summary)
        await this.rotate()
        chunk = []
        chunkBytes = 0
        summary = undefined
      }

      chunk.push(line)
      chunkBytes += line.length
      summary = this.options.summarize(summary, record)
    }

    if (chunkBytes > 0) await this.writeChunk(chunk, chunkBytes, summary)
  }

  private async writeChunk(chunk: Buffer[], bytes: number, summary: S | undefined): Promise<void> {
    const path = join(this.options.dir, this.active.name)
    if (!this.active.named) await mkdirDurable(this.options.dir)
    clearTimeout(this.idle)
    const handle = this.handle ?? (await open(path, 'a', 0o600))
    try {
      await handle.write(Buffer.concat(chunk, bytes))
      await this.sync(handle)
    } catch (error) {
      // A partial write (disk full) must not leave half a line for the next record to follow.
      await handle.truncate(this.active.bytes).catch(() => undefined)
      await this.closeHandle(handle)
      throw error
    }

    if (!this.handle && keptOpen < KEEP_OPEN_MAX) {
      this.handle = handle
      keptOpen++
    }

    if (this.handle) this.idle = setTimeout(() => void this.closeHandle(this.handle), KEEP_OPEN_MS).unref()
    else await handle.close()

    // A new segment's name must be durable too before its records are acknowledged.
    if (!this.active.named) {
      await syncDir(this.options.dir)
      this.active.named = true
    }

    this.active.bytes += bytes
    this.active.summary = summary
  }

  /** Closes `handle`; if it is the kept one, it is no longer kept. Only called between appends. */
  private async closeHandle(handle: FileHandle | undefined): Promise<void> {
    if (!handle) return
    if (handle === this.handle) {
      this.handle = undefined
      keptOpen--
      clearTimeout(this.idle)
    }

    await handle.close().catch(() => undefined)
  }

  private async rotate(): Promise<void> {
    await this.closeHandle(this.handle)
    if (this.active.summary !== undefined) this.sealed.push({name: this.active.name, summary: this.active.summary})
    await this.writeIndex()
    this.active = {name: segmentName(Number(this.active.name.slice(0, 10)) + 1), bytes: 0, summary: undefined, named: false}
  }

  private async writeIndex(): Promise<void> {
    await mkdirDurable(this.options.dir)
    await writeFileAtomic(join(this.options.dir, INDEX), JSON.stringify({segments: this.sealed}) + '\n', 0o600)
  }
}

function segmentName(n: number): string {
  return `${String(n).padStart(10, '0')}.jsonl`
}

function parseLine<T>(line: Buffer): T | undefined {
  if (line.length === 0) return undefined
  try {
    return JSON.parse(line.toString('utf8')) as T
  } catch {
    return undefined
  }
}

async function readIndex<S>(path: string): Promise<Array<Segment<S>>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as {segments?: Array<Segment<S>>}
    return Array.isArray(parsed.segments) ? parsed.segments : []
  } catch {
    return [] // missing or unreadable: rebuilt from the segments themselves
  }
}

/** Reads a whole segment forwards (done once, for the segment being appended to, bounded by its size). */
async function scanSegment<T, S>(path: string, summarize: (s: S | undefined, r: T) => S): Promise<{bytes: number; goodBytes: number; summary: S | undefined}> {
  const data = await readFile(path)
  let summary: S | undefined
  let start = 0
  for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
    const record = parseLine<T>(data.subarray(start, nl))
    if (record !== undefined) summary = summarize(summary, record)
    start = nl + 1
  }

  return {bytes: data.length, goodBytes: start, summary}
}

async function truncateTornTail(path: string, goodBytes: number, sync?: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.truncate(goodBytes)
    await (sync ?? ((h: FileHandle) => h.datasync()))(handle)
  } finally {
    await handle.close()
  }
}

/**
 * The newest record of the log in `dir`, read from the end of its newest segment without opening
 * the log (no index, no scan): what a listing of thousands of keys needs. Only for logs this process
 * is not appending to, since it reads up to the file's end rather than the acknowledged end.
 */
export async function readNewestRecord<T>(dir: string, accept: (record: T) => boolean = () => true): Promise<T | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => SEGMENT_RE.test(n)).sort().reverse()
  for (const name of names) {
    // A small first block: most records are a few hundred bytes, and a listing reads thousands at once.
    for await (const line of readLinesBackward(join(dir, name), undefined, 8 * 1024)) {
      const record = parseLine<T>(line)
      if (record !== undefined && accept(record)) return record
    }
  }

  return undefined
}

/** Creates `dir` and makes every directory entry it created durable. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, {recursive: true, mode: 0o700})
  if (first === undefined) return
  for (let d = dir; ; d = dirname(d)) {
    await syncDir(dirname(d))
    if (d === first) break
  }
}

/**
 * Lines of a file from its end to its start, without reading the whole file. Bytes after the last
 * newline are a torn write and are not returned. Splitting bytes at 0x0a is safe for UTF-8 and JSON
 * (the byte never occurs inside a multi-byte character, and JSON escapes newlines in strings).
 */
export async function* readLinesBackward(path: string, end?: number, blockSize = READ_BLOCK): AsyncGenerator<Buffer> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }

  try {
    let pos = Math.min(end ?? Infinity, (await handle.stat()).size)
    let rest: Buffer = Buffer.alloc(0) // the start of a line whose beginning lies before `pos`
    let tailDropped = false
    while (pos > 0) {
      const size = Math.min(blockSize, pos)
      pos -= size
      const block = Buffer.alloc(size)
      await handle.read(block, 0, size, pos)
      const buf = rest.length > 0 ? Buffer.concat([block, rest]) : block
      let lineEnd = buf.length
      if (!tailDropped) {
        const last = buf.lastIndexOf(NEWLINE)
        if (last === -1) {
          rest = buf
          continue
        }

        lineEnd = last
        tailDropped = true
      }

      for (let nl = lineEnd > 0 ? buf.lastIndexOf(NEWLINE, lineEnd - 1) : -1; nl !== -1; nl = lineEnd > 0 ? buf.lastIndexOf(NEWLINE, lineEnd - 1) : -1) {
        yield buf.subarray(nl + 1, lineEnd)
        lineEnd = nl
      }

      rest = buf.subarray(0, lineEnd)
    }

    if (tailDropped && rest.length > 0) yield rest
  } finally {
    await handle.close()
  }
}
