// The apply pipeline, per file (design.md "Agent apply pipeline"), one file per step:
//   stage.ts    where the bytes go and what is there now
//   compare.ts  same bytes on disk: adopt the version, nothing else happens
//   check.ts    the candidate beside the target, and `check` on it
//   install.ts  rename over the target, then keep the old file in the cache
//   reload.ts   one reload per batch of changes sharing a command, never two at once
//   settle.ts   applied (ok, cached) or failed (check refused, reload rolled back)
// This file only runs them in order; the file's state changes in file-state.ts, its cache in cache.ts.
import {formatErrorLine} from '../../errors.js'
import {sha256} from '../../model.js'
import {writeTemp} from '../../fs-atomic.js'
import {stampOf, type Version} from '../file-state.js'
import type {ManagedFile} from '../managed-file.js'
import {readIfExists} from '../cache.js'
import type {Logger} from '../types.js'
import {check} from './check.js'
import {unchanged} from './compare.js'
import {defaultRunner, realClock, type Clock, type Installed, type PipelineContext, type Runner} from './context.js'
import {install} from './install.js'
import {reload, ReloadGroup} from './reload.js'
import {checkFailed, inSync, installed, reloaded} from './settle.js'
import {resolveTarget, stage} from './stage.js'

export interface PipelineOptions {
  logger: Logger
  /** called whenever a file's report changed */
  onReport: () => void
  /** aborts running checks and reloads */
  signal?: AbortSignal
  /** the subprocess runner (tests); exec.ts's runShell by default */
  run?: Runner
  /** the clock of the reload window and of appliedAt (tests) */
  clock?: Clock
}

export class Pipeline {
  private readonly groups = new Map<string, ReloadGroup>()
  private readonly context: PipelineContext

  constructor(options: PipelineOptions) {
    this.context = {
      logger: options.logger,
      onReport: options.onReport,
      signal: options.signal,
      run: options.run ?? defaultRunner,
      clock: options.clock ?? realClock,
      background: new Set(),
    }
  }

  /** Load what was applied before (cache), so a restart while the center is down knows its files. */
  async restore(file: ManagedFile): Promise<void> {
    try {
      const cached = await file.cache.state()
      if (!cached) return
      const onDisk = await readIfExists(file.spec.dest)
      if (onDisk) {
        if (sha256(onDisk) === cached.sha256) file.state.restored(cached, await stampOf(file.spec.dest))
        return
      }

      // The destination vanished while we were away; the cached copy is the last good version.
      const content = await file.cache.content(cached)
      if (!content) return
      const target = await resolveTarget(file.spec.dest)
      await (await writeTemp(target, content, {mode: file.spec.mode ?? 0o644, exact: true})).commit()
      file.state.restored(cached, await stampOf(file.spec.dest))
      this.context.logger.warn('restored missing file from cache', {key: file.key, dest: file.spec.dest, version: cached.version})
    } catch (error) {
      this.context.logger.warn('ignoring unreadable cache state', {key: file.key, error: formatErrorLine(error)})
    }
  }

  /** One verified version through the stages. Returns once the file is in place (its reload may be pending). */
  async apply(file: ManagedFile, version: Version, content: Buffer): Promise<void> {
    const context = this.context
    const group = file.spec.reload ? this.group(file.spec.reload) : undefined
    if (group) {
      // While a reload runs, the destination holds bytes that may yet be rolled back: comparing with
      // them would adopt a version whose reload is failing (reported ok, then left in place as
      // "applied" after the rollback). Wait for it, and do not retry what it just failed.
      await group.notRunning()
      if (file.state.isFailed(version)) return
    }

    const change = await stage(file, version, content)
    if (unchanged(change)) {
      const pending = group?.pending(file)
      if (!pending) return inSync(change, context)
      // The batch's earlier change is already these bytes: its reload settles this version.
      pending.version = change.version
      pending.sha256 = change.sha256
      return
    }

    const checked = await check(change, context)
    if ('aborted' in checked) return // the agent is stopping: the old file stays, the version is not judged
    if ('failed' in checked) return checkFailed(change, checked.failed, context)
    const {candidate} = checked
    try {
      if (!group) {
        await install(change, candidate, change.old, context)
        return await installed(change, context)
      }

      // Into the reload group's batch: never renamed under a running reload.
      await group.join(file, async (existing) => {
        // A poll may have asked for this version while its reload ran; if that reload failed, it is
        // not tried again (join waited for it, so the failure is known only now).
        if (file.state.isFailed(change)) return undefined
        const current = await readIfExists(change.target)
        const backup = existing ? existing.backup : current && change.old ? {...change.old, bytes: current} : undefined
        await install(change, candidate, backup, context, !existing)
        file.state.pending(await stampOf(file.spec.dest))
        context.logger.info('applied, reload pending', {key: file.key, dest: file.spec.dest, version: change.version})
        context.onReport()
        return {...change, backup}
      })
    } finally {
      await candidate.discard() // no-op once committed
    }
  }

  /** Wait until no file change is in flight and no reload is pending or running. */
  async idle(flush = false): Promise<void> {
    for (;;) {
      if (flush) for (const group of this.groups.values()) group.flush()
      const busy = [...this.groups.values()].filter((group) => group.busy)
      if (busy.length > 0) await Promise.all(busy.map((group) => group.whenIdle()))
      else if (this.context.background.size > 0) await Promise.all(this.context.background)
      else return
    }
  }

  private group(command: string): ReloadGroup {
    let group = this.groups.get(command)
    if (!group) {
      group = new ReloadGroup(command, this.context.clock, (command, entries) => this.reloadBatch(command, entries))
      this.groups.set(command, group)
    }

    return group
  }

  private async reloadBatch(command: string, entries: Installed[]): Promise<void> {
    await reloaded(command, entries, await reload(command, entries, this.context), this.context)
  }
}
