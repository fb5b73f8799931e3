// Stage 4: keep a copy of the old file in the cache (for people), rename the candidate over the target.
import type {TempFile} from '../../fs-atomic.js'
import type {Change, OldFile} from './context.js'

/** `backup` is written unless an earlier change of the same batch already kept the file before it. */
export async function install(change: Change, candidate: TempFile, backup: OldFile | undefined, keepBackup = true): Promise<void> {
  if (keepBackup && backup) await change.file.cache.keepBackup(backup.bytes)
  await candidate.commit()
}
