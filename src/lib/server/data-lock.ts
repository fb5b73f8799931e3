// One process at a time writes a data dir: two serves would race on history files and version
// numbers, and `stconf token recover` must not write tokens.json under a running serve. The lock is
// <data>/serve.lock holding the owner's pid; a lock left by a process that no longer runs is taken over.
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {badInput} from '../errors.js'

/** Takes the data dir's lock; resolves to its release. `hint` says what to do when it is held. */
export async function lockDataDir(dataDir: string, hint = 'stop it, or pick another --data'): Promise<() => Promise<void>> {
  const path = join(dataDir, 'serve.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, {flag: 'wx', mode: 0o600})
      return () => rm(path, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (pid > 0 && pid !== process.pid && isAlive(pid)) throw badInput(`another stconf serve (pid ${pid}) is using ${dataDir}`, hint)
      await rm(path, {force: true})
    }
  }

  throw badInput(`cannot lock ${dataDir}`, 'remove serve.lock if no stconf serve is running')
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
