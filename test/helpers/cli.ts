// Run the built CLI (bin/run.js) as a real process, and start real `stconf serve` processes.
import {spawn, type ChildProcess} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {StatusRow} from '../../src/lib/agent/status.js'
import {makeTempDir, trackProcess} from './cleanup.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const ADMIN_TOKEN = 'test-admin-token-0123456789'
/**
 * How tests start the CLI: the built bin/run.js under this Node, or under the Node that
 * STCONF_TEST_NODE names (.ci/run runs the CLI and agent smoke tests under Node 24 that way).
 * `exec` options below replace it, e.g. with the single executable.
 */
export const CLI: readonly string[] = [process.env.STCONF_TEST_NODE || process.execPath, BIN]

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  stdoutBytes: Buffer
}

/** A temp dir removed when the test file's process ends (see cleanup.ts), also after a failure. */
export function tempDir(prefix = 'stconf-test-'): string {
  return makeTempDir(prefix)
}

export interface SpawnOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** bytes for stdin, which is then closed; without it stdin is not connected */
  input?: Buffer | string
  exec?: readonly string[]
}

/** A running CLI process (an agent, a daemon's starter): its output as it comes, its exit. */
export class Proc {
  /** stdout and stderr in the order they came */
  output = ''
  private readonly out: Buffer[] = []
  private readonly err: Buffer[] = []
  readonly exited: Promise<number | null>
  /** resolves once the process exited and its stdout and stderr are read to the end */
  readonly closed: Promise<number>

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.out.push(chunk)
      this.output += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      this.err.push(chunk)
      this.output += chunk.toString()
    })
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    this.closed = new Promise((resolve) => child.once('close', (code) => resolve(code ?? -1)))
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  get stdoutBytes(): Buffer {
    return Buffer.concat(this.out)
  }

  get stderr(): string {
    return Buffer.concat(this.err).toString('utf8')
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal)
    return this.exited
  }
}

/** Start the CLI; the STCONF_SERVER/TOKEN/ENV of the test's own environment are not passed on. */
export function spawnCli(args: string[], options: SpawnOptions = {}): Proc {
  const [program, ...first] = options.exec ?? CLI
  const child = trackProcess(spawn(program, [...first, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, STCONF_SERVER: undefined, STCONF_TOKEN: undefined, STCONF_ENV: undefined, ...options.env},
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  }))
  child.stdin?.end(options.input)
  return new Proc(child)
}

/** Run the CLI to its end. stdin is always a closed pipe (empty unless `input`), as in a script. */
export async function runCli(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  const proc = spawnCli(args, {...options, input: options.input ?? ''})
  const code = await proc.closed
  const stdoutBytes = proc.stdoutBytes
  return {code, stdout: stdoutBytes.toString('utf8'), stderr: proc.stderr, stdoutBytes}
}

export interface StatusResult {
  code: number
  rows: StatusRow[]
  stderr: string
}

/**
 * `stconf status --json` as admin. It prints the rows whatever its exit (7: an instance failed, 8: not
 * converged); an exit outside `codes` throws (inside `waitUntil`: not yet).
 */
export async function status(serveUrl: string, env: string, options: {key?: string; codes?: number[]} = {}): Promise<StatusResult> {
  const result = await runCli(['status', ...(options.key ? [options.key] : []), '--env', env, '--json', '--server', serveUrl, '--token', ADMIN_TOKEN])
  if (!(options.codes ?? [0, 7, 8]).includes(result.code)) throw new Error(`stconf status exited ${result.code}: ${result.stderr}`)
  return {code: result.code, rows: JSON.parse(result.stdout) as StatusRow[], stderr: result.stderr}
}

export interface ServeHandle {
  url: string
  dataDir: string
  proc: ChildProcess
  output(): string
  stop(): Promise<void>
}

export interface ServeOptions {
  dataDir?: string
  port?: number
  zk?: string
  zkRoot?: string
  /** --zk-session-timeout: short, so tests of expiry and outages stay short (serve's default is 10 s) */
  zkSessionTimeoutMs?: number
  args?: string[]
  env?: Record<string, string>
  exec?: readonly string[]
  cwd?: string
}

/** Start `stconf serve` on a free port; resolves once it prints its URL. */
export async function startServe(options: ServeOptions = {}): Promise<ServeHandle> {
  const dataDir = options.dataDir ?? tempDir('stconf-serve-')
  const args = [
    'serve',
    '--port',
    String(options.port ?? 0),
    '--data',
    dataDir,
    ...(options.zk ? ['--zk', options.zk] : []),
    ...(options.zkRoot ? ['--zk-root', options.zkRoot] : []),
    ...(options.zkSessionTimeoutMs ? ['--zk-session-timeout', String(options.zkSessionTimeoutMs)] : []),
    ...(options.args ?? []),
  ]
  const [program, ...first] = options.exec ?? CLI
  const proc = trackProcess(spawn(program, [...first, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, STCONF_ADMIN_TOKEN: ADMIN_TOKEN, ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  }))
  let output = ''
  proc.stdout!.on('data', (d) => (output += d.toString()))
  proc.stderr!.on('data', (d) => (output += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}`)), 30_000)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }

    proc.stdout!.on('data', check)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}: ${output}`))
    })
  })
  return {
    url,
    dataDir,
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGTERM')
      await exited
    },
  }
}

type Falsy = null | undefined | false | 0 | ''

/**
 * The one wait of the tests: poll `probe` until it returns a truthy value, which is returned; a probe
 * that throws counts as "not yet". Throws after `timeoutMs`, a generous deadline for a loaded machine,
 * never a figure a test asserts.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 20_000): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value) return value as Exclude<T, Falsy>
    } catch (error) {
      last = error
    }

    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
}
