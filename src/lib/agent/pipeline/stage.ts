// Stage 1 of a change: where the bytes go, and what is there now.
import {lstatSync, realpathSync, statSync} from 'node:fs'
import type {Version} from '../file-state.js'
import {readIfExists} from '../cache.js'
import type {ManagedFile} from '../managed-file.js'
import type {Change} from './context.js'

/** Where writes really go: a symlinked destination is written through to its target. */
export async function resolveTarget(dest: string): Promise<string> {
  try {
    const info = lstatSync(dest) // synchronous, as cache.ts's reads
    return info.isSymbolicLink() ? realpathSync(dest) : dest
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return dest
    throw error
  }
}

export async function stage(file: ManagedFile, version: Version, content: Buffer): Promise<Change> {
  const target = await resolveTarget(file.spec.dest)
  const bytes = await readIfExists(target)
  const info = bytes ? statSync(target) : undefined
  const old = bytes && info ? {bytes, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid} : undefined
  return {file, version: version.version, sha256: version.sha256, content, target, old}
}
