// The one subprocess wrapper: check and reload commands run through here. A command runs in a shell,
// in its own process group, so a timeout or an abort kills the whole tree (a reload that spawned
// children must not leave them behind), and its output is captured for the report.
//
// Each command runs in a standby shell (exec-standby.ts): a /bin/sh that execa started ahead, in a
// process group of its own, waiting for its command on stdin, so that no fork of the agent and no
// exec of a shell stands between a change and its reload. execa is imported with the first command
// (or prepareCommands()), so client commands and `agent --once` with nothing to run never load it.
// The rules stay here: timeout and abort send SIGTERM to the command's group, then SIGKILL after the
// grace; output is kept as a 1 MiB tail; failures are a typed ExecError.
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

let loaded: Promise<typeof import('./exec-standby.js')> | undefined
const loadStandby = () => (loaded ??= import('./exec-standby.js'))

/** Start the first standby shell now (an agent with check or reload commands, at start). */
export async function prepareCommands(): Promise<void> {
  ;(await loadStandby()).prepareStandby()
}

/** Run `command` through /bin/sh; resolves on exit 0, throws ExecError otherwise. */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '')
  const {startCommand} = await loadStandby()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '') // while it loaded
  let run: ReturnType<typeof startCommand>
  try {
    run = startCommand(command, {cwd: options.cwd, env: options.env, maxOutput: MAX_OUTPUT})
  } catch (error) {
    throw new ExecError(command, 'spawn', undefined, error instanceof Error ? error.message : String(error))
  }

  let reason: ExecFailure | undefined
  let graceTimer: NodeJS.Timeout | undefined
  const stop = (why: ExecFailure) => {
    if (reason) return
    reason = why
    run.kill('SIGTERM')
    graceTimer = setTimeout(() => {
      run.kill('SIGKILL')
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
