// The one subprocess wrapper: check and reload commands run through here. A command runs in a
// shell, in its own process group, so a timeout or an abort kills the whole tree (a reload that
// spawned children must not leave them behind), and its output is captured for the report.
//
// Built on node:child_process rather than execa: the agent is the only user, it needs nothing but
// "sh -c, own group, interleaved output, exit code", and execa (about 100 modules) was a fifth of
// the idle agent's heap and a millisecond or two of every reload (docs/agent.md, "Speed and size").
import {spawn} from 'node:child_process'
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

/** Run `command` through /bin/sh; resolves on exit 0, throws ExecError otherwise. */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  if (options.signal?.aborted) throw new ExecError(command, 'aborted', undefined, '')
  const child = spawn('/bin/sh', ['-c', command], {
    detached: true, // own process group: kill the tree, not just the shell
    cwd: options.cwd,
    env: options.env ? {...process.env, ...options.env} : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const chunks: Buffer[] = []
  let kept = 0
  const collect = (chunk: Buffer) => {
    chunks.push(chunk)
    kept += chunk.length
    while (kept - chunks[0].length >= MAX_OUTPUT) kept -= chunks.shift()!.length
  }

  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
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
    // 'close': the shell exited and its output pipes are drained (as execa did: a child that keeps
    // the pipes open is waited for, up to the timeout).
    const exit = await new Promise<{code: number | null; signal: NodeJS.Signals | null; error?: Error}>((resolve) => {
      child.once('error', (error) => resolve({code: null, signal: null, error}))
      child.once('close', (code, signal) => resolve({code, signal}))
    })
    const output = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
    if (reason) throw new ExecError(command, reason, exit.code ?? undefined, output)
    if (exit.error) throw new ExecError(command, 'spawn', undefined, exit.error.message)
    // Killed by a signal from elsewhere: the shell's convention, 128 + signal number.
    const exitCode = exit.code ?? 128 + (exit.signal ? constants.signals[exit.signal] : 0)
    if (exitCode !== 0) throw new ExecError(command, 'exit', exitCode, output)
    return {exitCode: 0, output, durationMs: Date.now() - started}
  } finally {
    clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
