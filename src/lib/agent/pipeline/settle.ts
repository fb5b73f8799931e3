// Stage 6: how a change ends, and the only place that decides it.
//   in sync (same bytes) or in place without a reload, or reloaded well -> applied: ok, cached
//   check failed                        -> failed: the old file was never touched
//   reload failed                       -> roll back: the backups go back, the reload runs again, failed
// A failed version is remembered (file-state.ts) and not tried again until a newer one comes, so a
// bad config cannot become a restart loop. Then one log line with the change's diff stat, computed
// after the file settled so that a diff never delays a file or a reload.
import {chmod, chown, unlink} from 'node:fs/promises'
import {formatErrorLine} from '../../errors.js'
import {writeTemp} from '../../fs-atomic.js'
import {describeChange, formatChangeStat} from '../file-diff.js'
import {stampOf, type Version} from '../file-state.js'
import type {ManagedFile} from '../managed-file.js'
import {later, type Change, type Installed, type PipelineContext} from './context.js'
import type {Reloaded} from './reload.js'

/** How a change ended, for the log: reloaded, in place without a reload command, or put back. */
type Outcome = {result: 'ok' | 'failed'; ms: number} | {result: 'none'}

/** The bytes of `version` are in place (and reloaded): ok, and cached for a restart without the center. */
export async function applied(file: ManagedFile, version: Version, content: Buffer, context: PipelineContext): Promise<void> {
  const appliedAt = new Date(context.clock.now()).toISOString()
  file.state.applied(version, appliedAt, await stampOf(file.spec.dest))
  try {
    await file.cache.remember({version: version.version, sha256: version.sha256, appliedAt}, content)
  } catch (error) {
    context.logger.warn('could not write the cache', {key: file.key, error: formatErrorLine(error)})
  }

  context.onReport()
}

/** Same bytes already on disk: adopt the version. */
export async function inSync(change: Change, context: PipelineContext): Promise<void> {
  await applied(change.file, change, change.content, context)
  context.logger.info('in sync', {key: change.file.key, dest: change.file.spec.dest, version: change.version})
}

/** Installed, and no reload command: done. */
export async function installed(change: Change, context: PipelineContext): Promise<void> {
  await applied(change.file, change, change.content, context)
  describeLater(change.file, change.version, change.old?.bytes, change.content, {result: 'none'}, context)
}

export function checkFailed(change: Change, error: string, context: PipelineContext): void {
  const {file} = change
  file.state.failed('check', change, `version ${change.version}: check failed: ${error}`)
  context.logger.error('check failed, keeping the old file', {key: file.key, dest: file.spec.dest, version: change.version, error})
  context.onReport()
}

/** One batch's reload ended: every file in it is applied, or every file in it goes back. */
export async function reloaded(command: string, entries: Installed[], outcome: Reloaded, context: PipelineContext): Promise<void> {
  const {logger} = context
  const keys = entries.map((entry) => entry.file.key)
  if (outcome.ok) {
    logger.info('reloaded', {command, keys, ms: outcome.ms})
    for (const entry of entries) await applied(entry.file, entry, entry.content, context)
    for (const entry of entries) describeLater(entry.file, entry.version, entry.backup?.bytes, entry.content, {result: 'ok', ms: outcome.ms}, context)
    return
  }

  logger.error('reload failed, restoring the previous files', {command, keys, error: outcome.error})
  const again = await rollBack(command, entries, context)
  for (const entry of entries) {
    entry.file.state.failed('reload', entry, `version ${entry.version}: reload failed: ${outcome.error}${again}`, await stampOf(entry.file.spec.dest))
    describeLater(entry.file, entry.version, entry.backup?.bytes, entry.content, {result: 'failed', ms: outcome.ms}, context)
  }

  context.onReport()
}

/** Put every backup back and reload again; returns what to add to the error when that reload failed too. */
async function rollBack(command: string, entries: Installed[], context: PipelineContext): Promise<string> {
  const {logger} = context
  const keys = entries.map((entry) => entry.file.key)
  for (const entry of entries) {
    try {
      await restoreBackup(entry)
    } catch (error) {
      logger.error('could not restore the previous file', {key: entry.file.key, error: formatErrorLine(error)})
    }
  }

  const timeoutMs = Math.max(...entries.map((entry) => entry.file.spec.reloadTimeoutMs))
  try {
    await context.run(command, {timeoutMs, signal: context.signal})
    logger.info('reloaded with the previous files', {command, keys})
    return ''
  } catch (error) {
    logger.error('reload with the previous files also failed', {command, keys, error: formatErrorLine(error)})
    return `; reload with the previous files also failed: ${formatErrorLine(error)}`
  }
}

async function restoreBackup(entry: Installed): Promise<void> {
  const {backup, target} = entry
  if (!backup) {
    // There was no file before this version: the truthful previous state is no file.
    await unlink(target).catch(() => undefined)
    return
  }

  const temp = await writeTemp(target, backup.bytes, {mode: backup.mode, exact: true, owner: backup})
  await temp.commit()
  await chmod(target, backup.mode).catch(() => undefined)
  if (process.getuid?.() === 0) await chown(target, backup.uid, backup.gid).catch(() => undefined)
}

/** Log the settled change with its diff stat (and keep the stat for the report), after the file settled. */
function describeLater(file: ManagedFile, version: number, before: Buffer | undefined, after: Buffer, outcome: Outcome, context: PipelineContext): void {
  later(context, 'could not describe the change', file.key, () => logChange(file, version, before, after, outcome, context))
}

async function logChange(file: ManagedFile, version: number, before: Buffer | undefined, after: Buffer, outcome: Outcome, context: PipelineContext): Promise<void> {
  const {key, dest, logDiff} = file.spec
  const names = logDiff ? {before: before ? `${dest} (before)` : `${dest} (new file)`, after: `${dest} (${key} v${version})`} : undefined
  const {diff, ...stat} = await describeChange(before, after, names)
  const how = outcome.result === 'none' ? 'no reload' : `reload ${outcome.result} in ${outcome.ms} ms${outcome.result === 'failed' ? ', rolled back' : ''}`
  const fields = {key, dest, version, ...stat, reload: outcome.result, reloadMs: outcome.result === 'none' ? undefined : outcome.ms, diff}
  const text = {line: `${key} v${version} -> ${dest}: ${formatChangeStat(stat)}, ${how}`, diff}
  if (outcome.result === 'failed') {
    context.logger.error('change rolled back', fields, text)
    return
  }

  file.state.described({version, ...stat})
  context.logger.info('applied', fields, text)
  context.onReport()
}
