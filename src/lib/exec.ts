// The one subprocess wrapper: check and reload commands run through here, on execa. A command runs in
// a shell, in its own process group, so a timeout or an abort kills the whole tree (a reload that
// spawned children must not leave them behind), and its output is captured for the report.
//
// execa is imported on the first command, not at start-up: `stconf agent --once` with nothing to
// reload, and every client command, never pay for it (figures in docs/bench.md, "Lean and fast").
// execa kills only the process it started; the group kill (SIGTERM, then SIGKILL after the grace)
// is done here, since children of the shell would otherwise keep running and hold the pipes open.
import {constants} from 'node:os'
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

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

let loaded: Promise<typeof import('execa')> | undefined
const loadExeca = () => (loaded ??= import('execa'))

/** Run `command` through /bin/sh; resolves on exit 0, throws ExecError otherwise. */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '')
  const {execa} = await loadExeca()
  const child = execa(command, {
    shell: '/bin/sh',
    detached: true, // own process group: kill the tree, not just the shell
    cwd: options.cwd,
    env: options.env, // added to the agent's environment (extendEnv)
    stdin: 'ignore',
    all: true, // stdout and stderr interleaved, as a person reading the report expects
    buffer: false, // kept here instead: the tail, without killing a chatty command (maxBuffer would)
    reject: false,
  })
  const chunks: Buffer[] = []
  let kept = 0
  child.all.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    kept += chunk.length
    while (kept - chunks[0].length >= MAX_OUTPUT) kept -= chunks.shift()!.length
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
    // Settles once the shell exited and its output pipes are drained: a child that keeps the pipes
    // open is waited for, up to the timeout.
    const result = await child
    const output = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
    if (reason) throw new ExecError(command, reason, result.exitCode, output)
    if (result.exitCode === undefined && !result.signal) {
      throw new ExecError(command, 'spawn', undefined, result instanceof Error ? (result.originalMessage ?? result.shortMessage ?? '') : '')
    }

    // Killed by a signal from elsewhere: the shell's convention, 128 + signal number.
    const exitCode = result.exitCode ?? 128 + constants.signals[result.signal!]
    if (exitCode !== 0) throw new ExecError(command, 'exit', exitCode, output)
    return {exitCode: 0, output, durationMs: Date.now() - started}
  } finally {
    clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
