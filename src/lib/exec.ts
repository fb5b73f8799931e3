// The one subprocess wrapper: check and reload commands run through here. A command runs in a shell,
// in its own process group, so a timeout or an abort kills the whole tree (a reload that spawned
// children must not leave them behind), and its output is captured for the report.
//
// Commands are forked by a small long-lived shell, the command helper (exec-helper.ts), not by the
// agent: forking a process the agent's size for every reload was the slowest step of a change. execa
// starts and watches that helper (and is imported on the first command, so client commands and
// `agent --once` with nothing to reload never load it); each command is `setsid /bin/sh -c` forked
// by it. The rules stay here: timeout and abort send SIGTERM to the command's group, then SIGKILL
// after the grace; output is kept as a 1 MiB tail; failures are a typed ExecError.
import {StconfError} from './errors.js'

export interface RunOptions {
  timeoutMs: number
  signal?: AbortSignal
  cwd?: string
  /** added to the agent's own environment */
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

/** Output kept per command (stdout and stderr interleaved): the tail, which is what reports show. */
const MAX_OUTPUT = 1024 * 1024

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

let loaded: Promise<typeof import('./exec-helper.js')> | undefined
const loadHelper = () => (loaded ??= import('./exec-helper.js'))

/** Run `command` through /bin/sh; resolves on exit 0, throws ExecError otherwise. */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '')
  const {runInHelper, killGroup} = await loadHelper()
  let run: Awaited<ReturnType<typeof runInHelper>>
  try {
    run = await runInHelper(command, {cwd: options.cwd, env: options.env, maxOutput: MAX_OUTPUT})
  } catch (error) {
    throw new ExecError(command, 'spawn', undefined, error instanceof Error ? error.message : String(error))
  }

  let pid: number | undefined
  run.onPid((started) => (pid = started))
  let reason: ExecFailure | undefined
  let graceTimer: NodeJS.Timeout | undefined
  const stop = (why: ExecFailure) => {
    if (reason) return
    reason = why
    run.onPid((group) => killGroup(group, 'SIGTERM'))
    graceTimer = setTimeout(() => {
      killGroup(pid, 'SIGKILL')
      // the group is gone; a process that left it (its own setsid) may still hold the output open
      graceTimer = setTimeout(() => run.abandonOutput(), options.killGraceMs ?? 2000)
    }, options.killGraceMs ?? 2000)
  }

  const timer = setTimeout(() => stop('timeout'), options.timeoutMs)
  const onAbort = () => stop('aborted')
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    // Settles once the command exited and its output is drained: a child that keeps the output open
    // is waited for, up to the timeout.
    const outcome = await run.done
    if (outcome.kind === 'nostart') throw new ExecError(command, reason ?? 'spawn', undefined, outcome.message)
    const output = outcome.output.replace(/\r?\n$/, '')
    if (reason) throw new ExecError(command, reason, outcome.exitCode, output)
    if (outcome.exitCode !== 0) throw new ExecError(command, 'exit', outcome.exitCode, output)
    return {exitCode: 0, output, durationMs: Date.now() - started}
  } finally {
    clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
