// The apply pipeline, per file (design.md "Agent apply pipeline"):
//   1 compare with the bytes on disk  2 temp file in the destination's directory, fsync
//   3 check  4 backup in cacheDir, atomic rename  5 reload (coalesced, never twice at once)
//   6 reload failed: put the backup back, reload again  7 cache the applied copy, report.
// A version that failed check or reload is remembered and not tried again until a newer one comes
// (or the agent restarts), so a bad config cannot become a restart loop.
import {randomBytes} from 'node:crypto'
import {chmod, chown, lstat, mkdir, open, readFile, realpath, rename, rm, stat, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {formatErrorLine} from '../errors.js'
import {runShell} from '../exec.js'
import type {FileSpec} from './config.js'
import {describeChange, formatChangeStat} from './file-diff.js'
import {sha256, type VersionMeta} from '../model.js'
import type {FileReport, LastChange, Logger} from './types.js'

interface Applied {
  version: number
  sha256: string
  appliedAt: string
}

interface DiskStamp {
  size: number
  mtimeMs: number
  ino: number
}

/** One watched file: its spec, what is applied, what failed, its cache directory. */
export class ManagedFile {
  applied?: Applied
  failed?: {version: number; sha256: string}
  status: FileReport['status'] = 'pending'
  error: string | null = null
  /** what the destination looked like right after we wrote it: a cheap "untouched since" test */
  stamp?: DiskStamp
  /** what the last applied change did to the file (since the agent started) */
  lastChange?: LastChange
  readonly cacheDir: string

  constructor(
    readonly spec: FileSpec,
    cacheRoot: string,
  ) {
    this.cacheDir = join(cacheRoot, 'files', sha256(Buffer.from(spec.dest)).slice(0, 16))
  }

  get key(): string {
    return this.spec.key
  }

  report(): FileReport {
    return {
      key: this.spec.key,
      dest: this.spec.dest,
      version: this.applied?.version ?? null,
      sha256: this.applied?.sha256 ?? null,
      status: this.status,
      appliedAt: this.applied?.appliedAt ?? null,
      error: this.error,
      lastChange: this.lastChange ?? null,
      failedVersion: this.failed?.version ?? null,
    }
  }

  /** Whether `meta` needs the pipeline at all (cheap: no content read unless the disk changed). */
  async needs(meta: VersionMeta): Promise<boolean> {
    if (this.failed && this.failed.version === meta.version && this.failed.sha256 === meta.sha256) return false
    if (!this.applied || this.applied.version !== meta.version || this.applied.sha256 !== meta.sha256) return true
    // Same version as applied: only if someone changed the file on disk behind our back.
    const now = await stampOf(this.spec.dest)
    return !now || !this.stamp || now.size !== this.stamp.size || now.mtimeMs !== this.stamp.mtimeMs || now.ino !== this.stamp.ino
  }
}

async function stampOf(path: string): Promise<DiskStamp | undefined> {
  try {
    const s = await stat(path)
    return {size: s.size, mtimeMs: s.mtimeMs, ino: s.ino}
  } catch {
    return undefined
  }
}

/** The file's bytes; undefined when it does not exist (any other error is thrown). */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

interface CachedState {
  key: string
  version: number
  sha256: string
  appliedAt: string
}

async function readCachedState(file: ManagedFile): Promise<CachedState | undefined> {
  const state = await readIfExists(join(file.cacheDir, 'state.json'))
  if (!state) return undefined
  const parsed = JSON.parse(state.toString('utf8')) as CachedState
  return parsed.key === file.key ? parsed : undefined // else the config now maps this dest to another key
}

/** The copy of `file` applied last (cacheDir), if the cache has it intact; reads only. */
export async function readCachedCopy(file: ManagedFile): Promise<{version: number; sha256: string; content: Buffer} | undefined> {
  const state = await readCachedState(file)
  const content = state && (await readIfExists(join(file.cacheDir, 'content')))
  return state && content && sha256(content) === state.sha256 ? {version: state.version, sha256: state.sha256, content} : undefined
}

/** Where writes really go: a symlinked destination is written through to its target. */
async function resolveTarget(dest: string): Promise<string> {
  try {
    const info = await lstat(dest)
    return info.isSymbolicLink() ? await realpath(dest) : dest
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return dest
    throw error
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

interface OldFile {
  bytes: Buffer
  mode: number
  uid: number
  gid: number
}

/**
 * Write `bytes` to a temp file beside `target` (same filesystem, so rename is atomic), fsync it,
 * set mode and (as root) owner. Returns the temp path; the caller renames or removes it.
 */
async function writeTemp(target: string, bytes: Buffer, mode: number, owner?: {uid: number; gid: number}): Promise<string> {
  const temp = join(dirname(target), `.${basename(target)}.stconf-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.chmod(mode)
    if (owner && process.getuid?.() === 0) await handle.chown(owner.uid, owner.gid)
    await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await rm(temp, {force: true})
    throw error
  } finally {
    await handle.close().catch(() => undefined)
  }

  return temp
}

async function writeCacheFile(path: string, bytes: Buffer | string, durable = true): Promise<void> {
  await mkdir(dirname(path), {recursive: true, mode: 0o700})
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(bytes)
    if (durable) await handle.sync()
  } finally {
    await handle.close()
  }

  await rename(temp, path)
}

interface BatchEntry {
  file: ManagedFile
  /** the file as it was before the first change of this batch (undefined: it did not exist) */
  backup?: OldFile
  target: string
  version: number
  sha256: string
  content: Buffer
}

/**
 * One reload command and the files that use it. Changes inside the `wait` window join one batch
 * and give one reload; a batch never starts while the previous one's reload (or rollback) runs.
 */
class ReloadGroup {
  private batch = new Map<ManagedFile, BatchEntry>()
  private timer?: NodeJS.Timeout
  private firstAt = 0
  private running?: Promise<void>
  private idleWaiters: Array<() => void> = []

  constructor(
    readonly command: string,
    private readonly pipeline: Pipeline,
  ) {}

  get busy(): boolean {
    return this.batch.size > 0 || this.running !== undefined
  }

  async whenIdle(): Promise<void> {
    if (!this.busy) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /** Wait until no reload runs, then let `change` touch the destination as part of the open batch. */
  async stage(file: ManagedFile, change: (existing?: BatchEntry) => Promise<BatchEntry | undefined>): Promise<void> {
    while (this.running) await this.running
    const entry = await change(this.batch.get(file))
    if (!entry) return
    this.batch.set(file, entry)
    this.schedule(file.spec.waitMs)
  }

  has(file: ManagedFile): BatchEntry | undefined {
    return this.batch.get(file)
  }

  /** Resolves once no reload (or its rollback) of this group runs. */
  async notRunning(): Promise<void> {
    while (this.running) await this.running
  }

  /** Run the pending reload now (agent stopping, or --once). */
  flush(): void {
    if (this.batch.size > 0 && !this.running) this.fire()
  }

  private schedule(waitMs: number): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.batch.size === 1 || this.firstAt === 0) this.firstAt = Date.now()
    // Quiet for `wait` after the last change, but never more than 4 x wait after the first one.
    const due = Math.min(Date.now() + waitMs, this.firstAt + 4 * waitMs)
    const delay = Math.max(0, due - Date.now())
    if (delay === 0) {
      this.timer = undefined
      this.fire()
      return
    }

    this.timer = setTimeout(() => this.fire(), delay)
  }

  private fire(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.running || this.batch.size === 0) return
    const entries = [...this.batch.values()]
    this.batch = new Map()
    this.firstAt = 0
    this.running = this.pipeline.reloadBatch(this.command, entries).finally(() => {
      this.running = undefined
      if (this.batch.size > 0) this.fire()
      else for (const wake of this.idleWaiters.splice(0)) wake()
    })
  }
}

export interface PipelineOptions {
  cacheDir: string
  logger: Logger
  /** called whenever a file's report changed */
  onReport: () => void
  /** aborts running check commands when the agent stops */
  signal?: AbortSignal
}

/** How a change ended: in place and reloaded, in place without a reload command, or put back. */
type ReloadOutcome = {result: 'ok' | 'failed'; ms: number} | {result: 'none'}

export class Pipeline {
  private readonly groups = new Map<string, ReloadGroup>()
  /** diff stats being computed for the log, after their files settled */
  private readonly describing = new Set<Promise<void>>()

  constructor(private readonly options: PipelineOptions) {}

  /** Load what was applied before (cache), so a restart while the center is down knows its files. */
  async restore(file: ManagedFile): Promise<void> {
    try {
      const parsed = await readCachedState(file)
      if (!parsed) return
      const onDisk = await readIfExists(file.spec.dest)
      if (onDisk && sha256(onDisk) === parsed.sha256) {
        file.applied = {version: parsed.version, sha256: parsed.sha256, appliedAt: parsed.appliedAt}
        file.status = 'ok'
        file.stamp = await stampOf(file.spec.dest)
      } else if (!onDisk) {
        // The destination vanished while we were away; the cached copy is the last good version.
        const cached = await readIfExists(join(file.cacheDir, 'content'))
        if (cached && sha256(cached) === parsed.sha256) {
          const target = await resolveTarget(file.spec.dest)
          const temp = await writeTemp(target, cached, file.spec.mode ?? 0o644)
          await rename(temp, target)
          file.applied = {version: parsed.version, sha256: parsed.sha256, appliedAt: parsed.appliedAt}
          file.status = 'ok'
          file.stamp = await stampOf(file.spec.dest)
          this.options.logger.warn('restored missing file from cache', {key: file.key, dest: file.spec.dest, version: parsed.version})
        }
      }
    } catch (error) {
      this.options.logger.warn('ignoring unreadable cache state', {key: file.key, error: formatErrorLine(error)})
    }
  }

  /** Steps 1-5 for one verified version. Returns once the file is in place (its reload may be pending). */
  async apply(file: ManagedFile, meta: VersionMeta, content: Buffer): Promise<void> {
    const {logger} = this.options
    const spec = file.spec
    const group = spec.reload ? this.group(spec.reload) : undefined
    if (group) {
      // While a reload runs, the destination holds bytes that may yet be rolled back: comparing with
      // them would adopt a version whose reload is failing (reported ok, then left in place as
      // "applied" after the rollback). Wait for it, and do not retry what it just failed.
      await group.notRunning()
      if (file.failed && file.failed.version === meta.version && file.failed.sha256 === meta.sha256) return
    }

    const target = await resolveTarget(spec.dest)
    // 1. Same bytes as on disk: adopt the version, nothing to reload.
    const onDisk = await readIfExists(target)
    if (onDisk && onDisk.equals(content)) {
      const pending = group?.has(file)
      if (pending) {
        pending.version = meta.version
        pending.sha256 = meta.sha256
        return
      }

      await this.recordApplied(file, meta, content)
      logger.info('in sync', {key: file.key, dest: spec.dest, version: meta.version})
      this.options.onReport()
      return
    }

    // 2. Candidate beside the target, with the configured mode, else the old file's mode and owner.
    const old = onDisk ? await stat(target) : undefined
    const mode = spec.mode ?? (old ? old.mode & 0o7777 : 0o644)
    await mkdir(dirname(target), {recursive: true})
    let temp: string | undefined = await writeTemp(target, content, mode, old ? {uid: old.uid, gid: old.gid} : undefined)
    try {
      // 3. Check the candidate; a failure leaves the old file alone.
      if (spec.check) {
        try {
          await runShell(spec.check.replaceAll('{{path}}', shellQuote(temp)), {timeoutMs: spec.reloadTimeoutMs, signal: this.options.signal})
        } catch (error) {
          file.failed = {version: meta.version, sha256: meta.sha256}
          file.status = 'check-failed'
          file.error = `version ${meta.version}: check failed: ${formatErrorLine(error)}`
          logger.error('check failed, keeping the old file', {key: file.key, dest: spec.dest, version: meta.version, error: formatErrorLine(error)})
          this.options.onReport()
          return
        }
      }

      const backupOf = (bytes: Buffer | undefined): OldFile | undefined =>
        bytes && old ? {bytes, mode: old.mode & 0o7777, uid: old.uid, gid: old.gid} : undefined
      const candidate = temp
      if (!group) {
        // 4. No reload: back up, rename, done.
        const backup = backupOf(onDisk)
        if (backup) await writeCacheFile(join(file.cacheDir, 'backup'), backup.bytes, false)
        await rename(candidate, target)
        temp = undefined
        await this.markApplied(file, meta, content)
        this.settled(file, meta.version, onDisk, content, {result: 'none'})
        return
      }

      // 4-5. Rename inside the reload group's batch: never under a running reload.
      await group.stage(file, async (existing) => {
        // A poll may have asked for this version while its reload ran; if that reload failed, it is
        // not tried again (stage waited for it, so file.failed is known only now).
        if (file.failed?.version === meta.version && file.failed.sha256 === meta.sha256) return undefined
        const current = await readIfExists(target)
        const backup = existing ? existing.backup : backupOf(current)
        // the rollback uses the in-memory copy; this one is for people: no fsync before the reload
        if (!existing && backup) await writeCacheFile(join(file.cacheDir, 'backup'), backup.bytes, false)
        await rename(candidate, target)
        temp = undefined
        file.status = 'pending'
        file.stamp = await stampOf(spec.dest)
        logger.info('applied, reload pending', {key: file.key, dest: spec.dest, version: meta.version})
        this.options.onReport()
        return {file, backup, target, version: meta.version, sha256: meta.sha256, content}
      })
    } finally {
      if (temp) await rm(temp, {force: true})
    }
  }

  /** Steps 5-7 for one batch of one reload command. */
  async reloadBatch(command: string, entries: BatchEntry[]): Promise<void> {
    const {logger} = this.options
    const timeoutMs = Math.max(...entries.map((entry) => entry.file.spec.reloadTimeoutMs))
    const keys = entries.map((entry) => entry.file.key)
    const started = Date.now()
    try {
      const result = await runShell(command, {timeoutMs})
      logger.info('reloaded', {command, keys, ms: result.durationMs})
      for (const entry of entries) await this.markApplied(entry.file, entry, entry.content)
      for (const entry of entries) this.settled(entry.file, entry.version, entry.backup?.bytes, entry.content, {result: 'ok', ms: result.durationMs})
    } catch (error) {
      const ms = Date.now() - started
      const why = formatErrorLine(error)
      logger.error('reload failed, restoring the previous files', {command, keys, error: why})
      for (const entry of entries) {
        try {
          await this.restoreBackup(entry)
        } catch (restoreError) {
          logger.error('could not restore the previous file', {key: entry.file.key, error: formatErrorLine(restoreError)})
        }
      }

      let again = ''
      try {
        await runShell(command, {timeoutMs})
        logger.info('reloaded with the previous files', {command, keys})
      } catch (secondError) {
        again = `; reload with the previous files also failed: ${formatErrorLine(secondError)}`
        logger.error('reload with the previous files also failed', {command, keys, error: formatErrorLine(secondError)})
      }

      for (const entry of entries) {
        entry.file.failed = {version: entry.version, sha256: entry.sha256}
        entry.file.status = 'reload-failed'
        entry.file.error = `version ${entry.version}: reload failed: ${why}${again}`
        entry.file.stamp = await stampOf(entry.file.spec.dest)
        this.settled(entry.file, entry.version, entry.backup?.bytes, entry.content, {result: 'failed', ms})
      }

      this.options.onReport()
    }
  }

  /**
   * A change settled (in place and reloaded, or put back): log one line with its diff stat, and
   * keep the stat for the report. Queued behind the apply, so a diff never delays a file or a reload.
   */
  private settled(file: ManagedFile, version: number, before: Buffer | undefined, after: Buffer, reload: ReloadOutcome): void {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.logChange(file, version, before, after, reload))
      .catch((error: unknown) => this.options.logger.warn('could not describe the change', {key: file.key, error: formatErrorLine(error)}))
      .finally(() => this.describing.delete(task))
    this.describing.add(task)
  }

  private async logChange(file: ManagedFile, version: number, before: Buffer | undefined, after: Buffer, reload: ReloadOutcome): Promise<void> {
    const {key, dest, logDiff} = file.spec
    const names = logDiff ? {before: before ? `${dest} (before)` : `${dest} (new file)`, after: `${dest} (${key} v${version})`} : undefined
    const {diff, ...stat} = await describeChange(before, after, names)
    const how = reload.result === 'none' ? 'no reload' : `reload ${reload.result} in ${reload.ms} ms${reload.result === 'failed' ? ', rolled back' : ''}`
    const fields = {key, dest, version, ...stat, reload: reload.result, reloadMs: reload.result === 'none' ? undefined : reload.ms, diff}
    const text = {line: `${key} v${version} -> ${dest}: ${formatChangeStat(stat)}, ${how}`, diff}
    if (reload.result === 'failed') {
      this.options.logger.error('change rolled back', fields, text)
      return
    }

    file.lastChange = {version, ...stat}
    this.options.logger.info('applied', fields, text)
    this.options.onReport()
  }

  /** Wait until no file change is in flight and no reload is pending or running. */
  async idle(flush = false): Promise<void> {
    for (;;) {
      if (flush) for (const group of this.groups.values()) group.flush()
      const busy = [...this.groups.values()].filter((group) => group.busy)
      if (busy.length > 0) await Promise.all(busy.map((group) => group.whenIdle()))
      else if (this.describing.size > 0) await Promise.all(this.describing)
      else return
    }
  }

  private group(command: string): ReloadGroup {
    let group = this.groups.get(command)
    if (!group) {
      group = new ReloadGroup(command, this)
      this.groups.set(command, group)
    }

    return group
  }

  private async restoreBackup(entry: BatchEntry): Promise<void> {
    if (!entry.backup) {
      // There was no file before this version: the truthful previous state is no file.
      await unlink(entry.target).catch(() => undefined)
      return
    }

    const temp = await writeTemp(entry.target, entry.backup.bytes, entry.backup.mode, entry.backup)
    await rename(temp, entry.target)
    await chmod(entry.target, entry.backup.mode).catch(() => undefined)
    if (process.getuid?.() === 0) await chown(entry.target, entry.backup.uid, entry.backup.gid).catch(() => undefined)
  }

  private async markApplied(file: ManagedFile, meta: {version: number; sha256: string}, content: Buffer): Promise<void> {
    await this.recordApplied(file, meta, content)
    this.options.onReport() // the log line follows once the change is described (settled)
  }

  /** 7. Cache the applied bytes and version (0600 files) and remember what the disk looks like. */
  private async recordApplied(file: ManagedFile, meta: {version: number; sha256: string}, content: Buffer): Promise<void> {
    const appliedAt = new Date().toISOString()
    // All at once (no await in between): a report taken meanwhile never mixes old and new.
    file.applied = {version: meta.version, sha256: meta.sha256, appliedAt}
    file.status = 'ok'
    file.error = null
    file.failed = undefined
    file.stamp = await stampOf(file.spec.dest)
    try {
      await writeCacheFile(join(file.cacheDir, 'content'), content)
      await writeCacheFile(
        join(file.cacheDir, 'state.json'),
        JSON.stringify({key: file.key, dest: file.spec.dest, version: meta.version, sha256: meta.sha256, appliedAt}) + '\n',
      )
    } catch (error) {
      this.options.logger.warn('could not write the cache', {key: file.key, error: formatErrorLine(error)})
    }
  }
}
