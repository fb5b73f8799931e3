// The one atomic file write: a reader sees the old bytes or the new ones, never a mix. The bytes go to
// a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename; with
// `sync: 'full'` the directory is fsynced too, so what was acknowledged survives a crash.
// `writeTemp` is the first half on its own, for the agent: it checks the candidate before the rename.
import {randomBytes} from 'node:crypto'
import {mkdir, open, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export interface TempOptions {
  /** the file's mode; without `exact` the process umask applies, as for any new file */
  mode?: number
  /** set `mode` exactly, whatever the umask (the agent keeps a config file's mode as it was) */
  exact?: boolean
  /** owner to set when running as root */
  owner?: {uid: number; gid: number}
  /** fsync the temp file (default true); false for copies only people read */
  sync?: boolean
}

/** A written, not yet visible file: `commit` renames it over its destination, `discard` removes it (no-op after commit). */
export interface TempFile {
  readonly path: string
  commit(): Promise<void>
  discard(): Promise<void>
}

/** Write `data` beside `path` (created 0600 until its mode is set), ready to be renamed over it. */
export async function writeTemp(path: string, data: Uint8Array | string, options: TempOptions = {}): Promise<TempFile> {
  const mode = options.mode ?? 0o644
  const temp = join(dirname(path), `.${basename(path)}.stconf-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', options.exact ? 0o600 : mode)
  try {
    await handle.writeFile(data)
    if (options.exact) await handle.chmod(mode)
    if (options.owner && process.getuid?.() === 0) await handle.chown(options.owner.uid, options.owner.gid)
    if (options.sync !== false) await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await rm(temp, {force: true})
    throw error
  }

  await handle.close()
  let done = false
  const discard = async () => {
    if (done) return
    done = true
    await rm(temp, {force: true})
  }

  return {
    path: temp,
    discard,
    async commit() {
      try {
        await rename(temp, path)
        done = true
      } catch (error) {
        await discard()
        throw error
      }
    },
  }
}

export interface WriteOptions {
  /**
   * full (default): fsync the file and its directory, durable once this resolves. file: fsync the file
   * only (a cache that is rebuilt if lost). none: no fsync at all (a copy for people, off the hot path).
   */
  sync?: 'full' | 'file' | 'none'
  /** mode of directories created on the way */
  dirMode?: number
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644, options: WriteOptions = {}): Promise<void> {
  const dir = dirname(path)
  const sync = options.sync ?? 'full'
  await mkdir(dir, {recursive: true, mode: options.dirMode})
  const temp = await writeTemp(path, data, {mode, sync: sync !== 'none'})
  await temp.commit()
  if (sync === 'full') await syncDir(dir)
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
