// The agent's cache, per file (cacheDir/<env>/files/<hash of dest>/, files 0600, dirs 0700):
//   state.json  the version applied last, so a restart while the center is down knows its files
//   content     the bytes of that version (restores a destination that vanished; the dry run)
//   backup      the file as it was before the last change (for people: the rollback uses memory)
// The only module that reads or writes these.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../fs-atomic.js'
import {sha256} from '../model.js'
import type {Applied} from './file-state.js'

/**
 * The file's bytes; undefined when it does not exist (any other error is thrown). A synchronous
 * read: config files are small and local, and a thread-pool round trip per step cost more than the
 * read itself (fs-atomic.ts).
 */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return readFileSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

interface CachedState extends Applied {
  key: string
  dest?: string
}

export class FileCache {
  readonly dir: string

  constructor(
    cacheRoot: string,
    private readonly key: string,
    private readonly dest: string,
  ) {
    this.dir = join(cacheRoot, 'files', sha256(Buffer.from(dest)).slice(0, 16))
  }

  /** The version applied last; undefined when none, or the config now maps this dest to another key. */
  async state(): Promise<Applied | undefined> {
    const state = await readIfExists(join(this.dir, 'state.json'))
    if (!state) return undefined
    const parsed = JSON.parse(state.toString('utf8')) as CachedState
    return parsed.key === this.key ? {version: parsed.version, sha256: parsed.sha256, appliedAt: parsed.appliedAt} : undefined
  }

  /** The cached bytes, if they are those of `version` (intact). */
  async content(version: {sha256: string}): Promise<Buffer | undefined> {
    const content = await readIfExists(join(this.dir, 'content'))
    return content && sha256(content) === version.sha256 ? content : undefined
  }

  /** The copy applied last, if the cache has it intact; reads only. */
  async copy(): Promise<{version: number; sha256: string; content: Buffer} | undefined> {
    const state = await this.state()
    const content = state && (await this.content(state))
    return state && content ? {version: state.version, sha256: state.sha256, content} : undefined
  }

  /** Remember `applied` and its bytes. A lost cache only means a re-apply: fsync the files, not the dir. */
  async remember(applied: Applied, content: Buffer): Promise<void> {
    await this.write('content', content, 'file')
    const state: CachedState = {key: this.key, dest: this.dest, version: applied.version, sha256: applied.sha256, appliedAt: applied.appliedAt}
    await this.write('state.json', JSON.stringify(state) + '\n', 'file')
  }

  /** The file as it was before a change: for people, so no fsync on the way to the reload. */
  async keepBackup(bytes: Buffer): Promise<void> {
    await this.write('backup', bytes, 'none')
  }

  private async write(name: string, bytes: Buffer | string, sync: 'file' | 'none'): Promise<void> {
    await writeFileAtomic(join(this.dir, name), bytes, 0o600, {sync, dirMode: 0o700})
  }
}
