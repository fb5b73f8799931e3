// What a test file leaves behind is removed when its process ends, whether its tests passed, failed
// or threw: node --test runs each file in its own process, so 'exit' is the one place that runs after
// every after() hook and also after an assertion or a crash skipped them. Processes go first (a
// serve still running would write into its data dir again), then the temp dirs.
// STCONF_KEEP_TMP=1 keeps the dirs for a look after a failure (their paths go to stderr).
import {type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const dirs = new Set<string>()
const children = new Set<ChildProcess>()
let installed = false

function cleanUp(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }

  children.clear()
  if (process.env.STCONF_KEEP_TMP) {
    if (dirs.size > 0) process.stderr.write(`kept temp dirs (STCONF_KEEP_TMP): ${[...dirs].join(' ')}\n`)
    return
  }

  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  dirs.clear()
}

function install(): void {
  if (installed) return
  installed = true
  process.once('exit', cleanUp)
  // A signal skips 'exit': clean up, then die of the same signal as before, unless the process
  // handles that signal itself (it then exits its own way, and 'exit' finds nothing left to do).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}

/** A fresh dir under the OS temp dir, removed when this process ends (or earlier with removeDir). */
export function makeTempDir(prefix: string): string {
  install()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

export function removeDir(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
  dirs.delete(dir)
}

/** A child process killed when this process ends, if it is still running then. */
export function trackProcess<T extends ChildProcess>(child: T): T {
  install()
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Alive and not a zombie (PID 1 in a container may never reap an orphaned daemon). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }

  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return process.platform !== 'linux'
  }
}
