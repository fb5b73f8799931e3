// Stage 4: rename the candidate over the target, then keep a copy of the old file in the cache (for
// people: a rollback uses the bytes in memory), after the rename and off the reload's path.
import type {TempFile} from '../../fs-atomic.js'
import {later, type Change, type OldFile, type PipelineContext} from './context.js'

/** `backup` is kept unless an earlier change of the same batch already kept the file before it. */
export async function install(change: Change, candidate: TempFile, backup: OldFile | undefined, context: PipelineContext, keepBackup = true): Promise<void> {
  await candidate.commit()
  if (!keepBackup || !backup) return
  later(context, 'could not keep the old file in the cache', change.file.key, () => change.file.cache.keepBackup(backup.bytes))
}
