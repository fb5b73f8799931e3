// The command helper: one long-lived /bin/sh, started through execa on the first command, that
// forks every check and reload command. Forking the agent itself (a ~70-90 MiB Node process) for
// each command was the largest step between a ZooKeeper commit and the reload having run; a shell of
// about 1 MiB forks in a fraction of that, and the agent's event loop no longer waits for the fork
// (docs/bench.md, "Lean and fast"). Only exec.ts uses this module: the timeout, abort and group-kill
// rules stay there, in one place.
//
// Protocol, one line each way. The agent writes `<id> <fifo> <words>`, where <words> are shell-quoted
// literals: the working directory ('' for the agent's own), the command, then NAME=value pairs to add
// to the environment. For each line the helper forks a subshell that enters the directory, opens the
// FIFO as stdout and stderr, starts `setsid /bin/sh -c <command>` (a process group of its own, so the
// agent can kill the whole tree) and answers `<id> pid <pid>`, then `<id> exit <status>` once it
// exited. Output goes through the FIFO straight to the agent, which reads it until every writer closed
// it (a child that keeps it open is waited for, as a pipe would be) and keeps the tail.
import {execa, type ResultPromise} from 'execa'
import {accessSync, closeSync, constants, mkdtempSync, openSync, rmSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

// `set -- $rest` under eval turns the quoted words back into arguments; nothing in them is expanded
// except "$nl", which the agent writes for a newline (a request is one line). fd 3 is the answer
// pipe inside a subshell; the command itself does not get it.
const SCRIPT = `
nl='
'
while IFS=' ' read -r id fifo rest; do
  {
    eval "set -- $rest"
    if [ -n "$1" ] && ! cd -- "$1" 2>/dev/null; then echo "$id nostart cannot enter the directory $1"; exit 0; fi
    cmd=$2; shift 2
    for kv in "$@"; do export "$kv"; done
    exec >"$fifo" 2>&1 </dev/null
    "$STCONF_SETSID" /bin/sh -c "$cmd" 3>&- &
    pid=$!
    echo "$id pid $pid" >&3
    exec >&- 2>&-
    wait "$pid"; echo "$id exit $?" >&3
  } 3>&1 &
done
rm -rf -- "$STCONF_EXEC_DIR"
`

/**
 * A tool the helper needs, by absolute path: from PATH, else from the system's own directories (an
 * agent may run with a PATH that holds nothing but stconf, as the single-executable test does).
 */
function findTool(name: string, from: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }

  throw new Error(`${name} is not installed (${from})`)
}

/** How one command ended: it exited (a signal is 128 + its number, the shell's way), or never started. */
export type Outcome = {kind: 'exit'; exitCode: number; output: string} | {kind: 'nostart'; message: string}

export interface HelperRun {
  /** the command's process group id, once it started */
  onPid(listener: (pid: number) => void): void
  /** stop waiting: for output that a process outside the group keeps open, or for a stuck helper */
  abandonOutput(): void
  done: Promise<Outcome>
}

interface Pending {
  fifo: string
  fd: number
  socket?: Socket
  pid?: number
  exitCode?: number
  chunks: Buffer[]
  kept: number
  drained: boolean
  pidListeners: Array<(pid: number) => void>
  settle: (outcome: Outcome) => void
}

/** A shell word that stays one line: single-quoted, a newline written as "$nl" (see SCRIPT). */
export function shellWord(text: string): string {
  return text
    .split('\n')
    .map((part) => `'${part.replaceAll("'", `'\\''`)}'`)
    .join('"$nl"')
}

class Helper {
  private readonly child: ResultPromise<{stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false}>
  private readonly pending = new Map<number, Pending>()
  private readonly freeFifos: string[] = []
  private fifoCount = 0
  private nextId = 1
  private stderrTail = ''
  private statusBuffer = ''
  exited = false

  constructor(
    private readonly dir: string,
    private readonly tools: {setsid: string; mkfifo: string},
    private readonly maxOutput: number,
    private readonly onExit: () => void,
  ) {
    this.child = execa('/bin/sh', ['-c', SCRIPT], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      env: {STCONF_EXEC_DIR: dir, STCONF_SETSID: tools.setsid}, // added to the agent's environment, which every command inherits
      cleanup: false, // not killed when the agent exits: it sees end-of-file, stops and removes dir
    })
    process.once('exit', this.removeDir)
    // The helper must not keep a finished agent (or `--once`) alive: when the agent exits, the
    // helper reads end-of-file, stops and removes its FIFOs. Running commands hold their own handles.
    this.child.unref()
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as Socket).unref?.()
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (text: string) => this.onStatus(text))
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (text: string) => (this.stderrTail = (this.stderrTail + text).slice(-2000)))
    this.child.stdin.on('error', () => undefined) // a dead helper: reported through its exit below
    void this.child.catch(() => undefined) // settled once its pipes close too; the exit is seen below
    // 'exit', not the end of its pipes: the subshells of running commands still hold its stdout
    this.child.on('exit', async (code, signal) => {
      this.exited = true
      onExit()
      // what it said on stderr before it went is in the pipe already: let it arrive;
      // the pipes themselves may stay open much longer, held by running commands' subshells
      await new Promise((resolve) => {
        this.child.stdout.once('end', resolve)
        setTimeout(resolve, 50).unref()
      })
      const why = lastLine(this.stderrTail) || (signal ? `killed by ${signal}` : `exit ${code}`)
      for (const [id, run] of this.pending) {
        // its exit code is lost with the helper: stop it rather than leave it running unwatched
        if (run.pid) killGroup(run.pid, 'SIGKILL')
        this.finish(id, {kind: 'nostart', message: `the command helper (/bin/sh) stopped: ${why}`})
      }
      this.removeDir()
      process.off('exit', this.removeDir)
    })
  }

  private readonly removeDir = () => rmSync(this.dir, {recursive: true, force: true})

  get pid(): number | undefined {
    return this.child.pid
  }

  async run(command: string, cwd: string | undefined, env: Record<string, string>): Promise<HelperRun> {
    // the helper's `export` would stop its subshell, which would then never answer
    const bad = Object.keys(env).find((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    if (bad !== undefined) throw new Error(`${JSON.stringify(bad)} is not an environment variable name`)
    const fifo = await this.takeFifo()
    // Opened before the helper opens it for writing (which blocks until a reader exists); read only
    // once the helper said the command started, since a FIFO with no writer yet reads as its end.
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const id = this.nextId++
    let settle!: (outcome: Outcome) => void
    const done = new Promise<Outcome>((resolve) => (settle = resolve))
    const run: Pending = {fifo, fd, chunks: [], kept: 0, drained: false, pidListeners: [], settle}
    this.pending.set(id, run)
    const words = [cwd ?? '', command, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)].map(shellWord).join(' ')
    this.child.stdin.write(`${id} ${fifo} ${words}\n`)
    return {
      onPid: (listener) => (run.pid ? listener(run.pid) : run.pidListeners.push(listener)),
      abandonOutput: () => {
        if (!this.pending.has(id)) return
        if (!run.drained) run.fifo = '' // a writer may still hold it: never hand it to another command
        run.drained = true
        if (run.exitCode === undefined) this.finish(id, {kind: 'nostart', message: 'the command helper did not report its exit'})
        else this.maybeFinish(id)
      },
      done,
    }
  }

  private async takeFifo(): Promise<string> {
    if (this.freeFifos.length === 0) {
      const batch = Array.from({length: 4}, () => join(this.dir, `out-${this.fifoCount++}`))
      // cleanup: false here and for the helper: execa's cleanup hooks SIGTERM (signal-exit), and once
      // the agent's own SIGTERM handler is gone during its stop, it would kill the agent by re-raising
      await execa(this.tools.mkfifo, ['-m', '600', ...batch], {cleanup: false})
      this.freeFifos.push(...batch)
    }

    return this.freeFifos.pop()!
  }

  private onStatus(text: string): void {
    this.statusBuffer += text
    let newline
    while ((newline = this.statusBuffer.indexOf('\n')) >= 0) {
      const line = this.statusBuffer.slice(0, newline)
      this.statusBuffer = this.statusBuffer.slice(newline + 1)
      const [idText, kind, ...rest] = line.split(' ')
      const id = Number(idText)
      const run = this.pending.get(id)
      if (!run) continue
      if (kind === 'pid') this.started(id, run, Number(rest[0]))
      else if (kind === 'exit') {
        run.exitCode = Number(rest[0])
        this.maybeFinish(id)
      } else if (kind === 'nostart') this.finish(id, {kind: 'nostart', message: rest.join(' ')})
    }
  }

  private started(id: number, run: Pending, pid: number): void {
    run.pid = pid
    for (const listener of run.pidListeners.splice(0)) listener(pid)
    const socket = new Socket({fd: run.fd, readable: true, writable: false})
    run.socket = socket
    socket.on('data', (chunk: Buffer) => {
      run.chunks.push(chunk)
      run.kept += chunk.length
      while (run.kept - run.chunks[0].length >= this.maxOutput) run.kept -= run.chunks.shift()!.length
    })
    const drained = () => {
      if (run.drained) return
      run.drained = true
      this.maybeFinish(id)
    }
    socket.on('end', drained)
    socket.on('close', drained)
    socket.on('error', drained)
  }

  private maybeFinish(id: number): void {
    const run = this.pending.get(id)
    if (!run || run.exitCode === undefined || !run.drained) return
    this.finish(id, {kind: 'exit', exitCode: run.exitCode, output: Buffer.concat(run.chunks).toString('utf8')})
  }

  private finish(id: number, outcome: Outcome): void {
    const run = this.pending.get(id)!
    this.pending.delete(id)
    if (run.socket) run.socket.destroy()
    else closeSync(run.fd)
    if (run.fifo && !this.exited) this.freeFifos.push(run.fifo) // every writer closed it: safe to reuse
    run.settle(outcome)
  }
}

let helper: Helper | undefined

/** Starts `command` in the helper, starting the helper first when there is none (or it stopped). */
export function runInHelper(command: string, options: {cwd?: string; env?: Record<string, string>; maxOutput: number}): Promise<HelperRun> {
  if (!helper || helper.exited) {
    const tools = {setsid: findTool('setsid', 'util-linux or busybox'), mkfifo: findTool('mkfifo', 'coreutils or busybox')}
    const dir = mkdtempSync(join(tmpdir(), 'stconf-exec-'))
    const started: Helper = new Helper(dir, tools, options.maxOutput, () => {
      if (helper === started) helper = undefined
    })
    helper = started
  }

  return helper.run(command, options.cwd, options.env ?? {})
}

/** The helper's pid while one runs (for tests and the benchmark). */
export function helperPid(): number | undefined {
  return helper && !helper.exited ? helper.pid : undefined
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}
