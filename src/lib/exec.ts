// The one subprocess wrapper: check and reload commands run through here. A command runs in a
// shell, in its own process group, so a timeout or an abort kills the whole tree (a reload that
// spawned children must not leave them behind), and its output is captured for the report.
import {execa} from 'execa'
import {StconfError} from './errors.js'

export interface RunOptions {
  timeoutMs: number
  signal?: AbortSignal
  cwd?: string
  env?: Record<string, string>
  /** how long to wait after SIGTERM before SIGKILL */
  killGraceMs?: number
}

export interface RunResult {
  exitCode: number
  output: string
  durationMs: number
}

export type ExecFailure = 'exit' | 'timeout' | 'aborted' | 'spawn'

/** A command that did not exit 0: why, its exit code and the tail of its output. */
export class ExecError extends StconfError {
  constructor(
    readonly command: string,
    readonly reason: ExecFailure,
    readonly commandExitCode: number | undefined,
    readonly output: string,
  ) {
    const tail = lastLine(output)
    const what =
      reason === 'timeout'
        ? 'timed out'
        : reason === 'aborted'
          ? 'was stopped'
          : reason === 'spawn'
            ? 'could not start'
            : `exited with ${commandExitCode}`
    super('failed', `\`${command}\` ${what}${tail ? `: ${tail}` : ''}`)
  }
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n')
  const line = lines.at(-1) ?? ''
  return line.length > 200 ? line.slice(0, 200) + '...' : line
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** Run `command` through /bin/sh; resolves on exit 0, throws ExecError otherwise. */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '')
  const child = execa(command, {
    shell: '/bin/sh',
    detached: true, // own process group: kill the tree, not just the shell
    cwd: options.cwd,
    env: options.env,
    all: true,
    reject: false,
    stdin: 'ignore',
    maxBuffer: 1024 * 1024,
  })
  let reason: ExecFailure | undefined
  let graceTimer: NodeJS.Timeout | undefined
  const stop = (why: ExecFailure) => {
    if (reason) return
    reason = why
    killGroup(child.pid, 'SIGTERM')
    graceTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 2000)
  }

  const timer = setTimeout(() => stop('timeout'), options.timeoutMs)
  const onAbort = () => stop('aborted')
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    const result = await child
    // Children that outlived the shell (a daemon the reload forked keeps its own group) are not ours
    // to kill on success; on failure the group is killed above.
    const output = typeof result.all === 'string' ? result.all : ''
    if (reason) throw new ExecError(command, reason, result.exitCode, output)
    if (result.failed && result.exitCode === undefined) throw new ExecError(command, 'spawn', undefined, result.message ?? output)
    if (result.exitCode !== 0) throw new ExecError(command, 'exit', result.exitCode, output)
    return {exitCode: 0, output, durationMs: Date.now() - started}
  } finally {
    clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
