// The standby shell: check and reload commands run in a /bin/sh that execa started ahead of them, in
// a process group of its own, blocked reading its one command from stdin. Running a command is then
// a line written to a pipe: no fork of the agent (a ~55-90 MiB Node process) and no exec of a shell
// stands between a change and its reload, which was the largest step of a change (docs/bench.md,
// "Lean and fast"). Once that command exited, the next standby is started, off the change's path.
// Only exec.ts uses this module: the timeout, abort and group-kill rules stay there, in one place.
//
// Protocol. The agent writes one line of shell-quoted literals: the working directory ('' for the
// agent's own), the command, then NAME=value pairs to add to the environment. The standby answers on
// stderr, before the command starts: `r` once it read the line (a standby that exits without it never
// took its command, which then runs in a fresh shell), then, if it cannot start the command, why.
// Then it points stderr at stdout (one output, interleaved, as a terminal shows it) and evaluates the
// command in itself: `eval` in a fresh `sh` parses and runs a string exactly as `sh -c` does, and the
// runner's own variables are unset first. The command's exit status is the shell's.
import {execa, type ResultPromise} from 'execa'
import {constants} from 'node:os'
import type {Socket} from 'node:net'

// `set -- $request` under eval turns the quoted words back into arguments; nothing in them is
// expanded except "$nl", which the agent writes for a newline (a request is one line).
const RUNNER = `nl='
'
IFS= read -r __stconf_request || exit 0
printf r >&2
eval "set -- $__stconf_request"
if [ -n "$1" ] && ! cd -- "$1" 2>/dev/null; then echo "cannot enter the directory $1" >&2; exit 127; fi
__stconf_command=$2; shift 2
for __stconf_kv in "$@"; do export "$__stconf_kv"; done
set --
unset nl __stconf_request __stconf_kv
exec </dev/null 2>&1
eval "unset __stconf_command
$__stconf_command"`

/** How one command ended: it exited (a signal is 128 + its number, the shell's way), or never started. */
export type Outcome = {kind: 'exit'; exitCode: number; output: string} | {kind: 'nostart'; message: string}

export interface StartedCommand {
  /** the command's process group id (its shell's pid) */
  readonly pid: number
  /** signal the command's process group (a command stopped before it started is not started again) */
  kill(signal: NodeJS.Signals): void
  /** stop waiting for output that a process outside the group keeps open */
  abandonOutput(): void
  done: Promise<Outcome>
}

/** A shell word that stays one line: single-quoted, a newline written as "$nl" (see RUNNER). */
export function shellWord(text: string): string {
  return text
    .split('\n')
    .map((part) => `'${part.replaceAll("'", `'\\''`)}'`)
    .join('"$nl"')
}

type Subprocess = ResultPromise<{stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false}>

class Shell {
  readonly child: Subprocess
  readonly pid: number
  /** what the runner said on stderr: `r`, then why it could not start the command */
  private said = ''
  private exit?: {code: number | null; signal: NodeJS.Signals | null}
  private readonly exitWaiters: Array<() => void> = []
  private stderrEnded = false

  constructor() {
    this.child = execa('/bin/sh', ['-c', RUNNER], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      detached: true, // setsid: the command's process group is this shell's pid
      cleanup: false, // not killed with the agent: it reads end-of-file on stdin and exits by itself
    })
    // execa throws synchronously only on bad options; a missing /bin/sh is an 'error' and an exit
    this.pid = this.child.pid ?? 0
    void this.child.catch(() => undefined)
    this.child.stdin.on('error', () => undefined) // a dead standby: seen through its exit
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (text: string) => (this.said = (this.said + text).slice(0, 2000)))
    this.child.stderr.on('end', () => {
      this.stderrEnded = true
      this.wake()
    })
    this.child.on('exit', (code, signal) => {
      this.exit = {code, signal}
      this.wake()
    })
    this.child.on('error', () => {
      this.exit ??= {code: 127, signal: null}
      this.stderrEnded = true
      this.wake()
    })
    this.idle()
  }

  get alive(): boolean {
    return this.exit === undefined && this.pid > 0
  }

  /** A waiting standby does not keep the agent (or `--once`) alive; a running command does. */
  private idle(): void {
    this.child.unref()
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as Socket).unref?.()
  }

  private busy(): void {
    this.child.ref()
    for (const stream of [this.child.stdout, this.child.stderr]) (stream as unknown as Socket).ref?.()
  }

  private wake(): void {
    for (const wake of this.exitWaiters.splice(0)) wake()
  }

  /**
   * Hand the shell its command; `done` settles once it exited and its output is drained (or
   * abandoned). A shell that exits without having read the command never ran it: `again` runs it
   * in another.
   */
  run(request: string, maxOutput: number, again: () => StartedCommand): StartedCommand {
    this.busy()
    const chunks: Buffer[] = []
    let kept = 0
    let stopReading!: () => void
    const drained = new Promise<void>((resolve) => (stopReading = resolve))
    this.child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      kept += chunk.length
      while (kept - chunks[0].length >= maxOutput) kept -= chunks.shift()!.length
    })
    for (const event of ['end', 'close', 'error'] as const) this.child.stdout.on(event, () => stopReading())
    this.child.stdin.end(request)
    let instead: StartedCommand | undefined
    let killed = false
    const done = (async (): Promise<Outcome> => {
      while (!(this.exit && this.stderrEnded)) await new Promise<void>((resolve) => this.exitWaiters.push(resolve))
      if (!this.said.startsWith('r')) {
        if (killed) return {kind: 'nostart', message: 'stopped before it started'}
        instead = again()
        return instead.done
      }

      const why = this.said.slice(1).trim()
      if (why) return {kind: 'nostart', message: why}
      // the shell exited; a child of the command may keep the output open, as it would a pipe
      await drained
      const {code, signal} = this.exit
      const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)
      return {kind: 'exit', exitCode, output: Buffer.concat(chunks).toString('utf8')}
    })()
    const {pid, child} = this
    return {
      get pid() {
        return instead?.pid ?? pid
      },
      kill(signal) {
        killed = true
        if (instead) instead.kill(signal)
        else killGroup(pid, signal)
      },
      abandonOutput() {
        if (instead) return instead.abandonOutput()
        child.stdout.destroy()
        stopReading()
      },
      done,
    }
  }
}

let standby: Shell | undefined
const noShell: Outcome = {kind: 'nostart', message: '/bin/sh exited before it read the command'}

/**
 * Start `command` in the standby shell (or a fresh one when there is none), and start the next
 * standby once it exited.
 */
export function startCommand(command: string, options: {cwd?: string; env?: Record<string, string>; maxOutput: number}): StartedCommand {
  const env = options.env ?? {}
  // the runner's `export` would stop it with an error before the command, which would never run
  const bad = Object.keys(env).find((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
  if (bad !== undefined) throw new Error(`${JSON.stringify(bad)} is not an environment variable name`)
  const request = [options.cwd ?? '', command, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)].map(shellWord).join(' ') + '\n'
  const launch = (fresh: boolean): StartedCommand => {
    const waiting = fresh ? undefined : standby
    if (!fresh) standby = undefined
    const shell = waiting?.alive ? waiting : new Shell()
    // a fresh shell that exits before it read its command cannot run it either
    const again = fresh ? () => ({pid: 0, kill: () => undefined, abandonOutput: () => undefined, done: Promise.resolve(noShell)}) : () => launch(true)
    const started = shell.run(request, options.maxOutput, again)
    // after the caller heard the outcome: starting a shell blocks this process for the fork
    void started.done.finally(() => setImmediate(() => (standby ??= new Shell())))
    return started
  }

  return launch(false)
}

/** Start a standby now, so that the first command does not wait for a shell either. */
export function prepareStandby(): void {
  standby ??= new Shell()
}

/** The standby's pid while one waits (tests and the benchmark). */
export function standbyPid(): number | undefined {
  return standby?.alive ? standby.pid : undefined
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}
