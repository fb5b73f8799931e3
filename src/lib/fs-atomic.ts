// The one atomic file write: a reader sees the old bytes or the new ones, never a mix. The bytes go to
// a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename; with
// `sync: 'full'` the directory is fsynced too, so what was acknowledged survives a crash.
// `writeTemp` is the first half on its own, for the agent: it checks the candidate before the rename.
//
// Only the fsyncs are asynchronous: they wait on the disk. The other steps (open, write, chmod,
// rename, close) are synchronous calls, which take microseconds on a local disk, where each
// asynchronous one cost a thread-pool round trip of ~0.1 ms; a change through the agent took about
// twenty of them (docs/bench.md, "Where one change's time goes").
import {randomBytes} from 'node:crypto'
import {closeSync, fchmodSync, fchownSync, fsync, mkdirSync, openSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {promisify} from 'node:util'

const fsyncFd = promisify(fsync)

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
  const fd = openSync(temp, 'wx', options.exact ? 0o600 : mode)
  try {
    writeFileSync(fd, data)
    if (options.exact) fchmodSync(fd, mode)
    if (options.owner && process.getuid?.() === 0) fchownSync(fd, options.owner.uid, options.owner.gid)
    if (options.sync !== false) await fsyncFd(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(temp, {force: true})
    throw error
  }

  closeSync(fd)
  let done = false
  const discard = async () => {
    if (done) return
    done = true
    rmSync(temp, {force: true})
  }

  return {
    path: temp,
    discard,
    async commit() {
      try {
        renameSync(temp, path)
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
  mkdirSync(dir, {recursive: true, mode: options.dirMode})
  const temp = await writeTemp(path, data, {mode, sync: sync !== 'none'})
  await temp.commit()
  if (sync === 'full') await syncDir(dir)
}

export async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r')
  try {
    await fsyncFd(fd)
  } finally {
    closeSync(fd)
  }
}
