// Run the built CLI (bin/run.js) as a real process, and start real `stconf serve` processes.
import {spawn, type ChildProcess} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
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

export async function runCli(
  args: string[],
  options: {cwd?: string; env?: Record<string, string | undefined>; input?: Buffer | string; exec?: readonly string[]} = {},
): Promise<CliResult> {
  const [program, ...first] = options.exec ?? CLI
  const child = trackProcess(spawn(program, [...first, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, STCONF_SERVER: undefined, STCONF_TOKEN: undefined, STCONF_ENV: undefined, ...options.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  }))
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => err.push(d))
  child.stdin.end(options.input ?? '')
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  const stdoutBytes = Buffer.concat(out)
  return {code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes}
}

export interface ServeHandle {
  url: string
  dataDir: string
  proc: ChildProcess
  output(): string
  stop(): Promise<void>
}

/** Start `stconf serve` on a free port; resolves once it prints its URL. */
export async function startServe(
  options: {dataDir?: string; port?: number; zk?: string; zkRoot?: string; args?: string[]; env?: Record<string, string>; exec?: readonly string[]; cwd?: string} = {},
): Promise<ServeHandle> {
  const dataDir = options.dataDir ?? tempDir('stconf-serve-')
  const args = ['serve', '--port', String(options.port ?? 0), '--data', dataDir, ...(options.zk ? ['--zk', options.zk] : []), ...(options.zkRoot ? ['--zk-root', options.zkRoot] : []), ...(options.args ?? [])]
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

/** Poll `probe` until it returns a truthy value (or throw after `timeoutMs`). No timing assertions. */
type Falsy = null | undefined | false | 0 | ''

export async function waitFor<T>(probe: () => Promise<T | Falsy> | T | Falsy, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value) return value as T
    } catch (error) {
      last = error
    }

    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
}
