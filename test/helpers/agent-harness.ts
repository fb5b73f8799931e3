// Real processes for agent tests: the built `stconf serve` and `stconf agent`, temp dirs, waits with
// generous deadlines (never timing thresholds).
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {zkPath} from '../../src/lib/zk/zk-client.js'
import {trackProcess} from './cleanup.js'
import {ADMIN_TOKEN, CLI, startServe as startServeProcess, tempDir as makeTempDir, waitFor, type ServeHandle} from './cli.js'

export {ADMIN_TOKEN, BIN, ROOT} from './cli.js'

export function tempDir(prefix = 'stconf-agent-'): string {
  return makeTempDir(prefix)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** waitFor with the description first (the agent tests' order). */
export function waitUntil<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  return waitFor(probe as () => Promise<Exclude<T, false | null | undefined | 0 | ''>>, what, timeoutMs)
}

export function readText(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

export function countLines(path: string): number {
  const text = readText(path)
  return text ? text.split('\n').filter(Boolean).length : 0
}

export class Proc {
  output = ''
  readonly exited: Promise<number | null>
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk) => (this.output += chunk.toString()))
    child.stderr?.on('data', (chunk) => (this.output += chunk.toString()))
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal)
    return this.exited
  }
}

export function runCli(args: string[], env: Record<string, string> = {}): Proc {
  const [program, ...first] = CLI
  return new Proc(trackProcess(spawn(program, [...first, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})))
}

export type Serve = ServeHandle

/** serve as the agent tests use it: ZooKeeper mode with a short session, so expiry tests stay short. */
export function startServe(options: {zk?: string; data?: string; port?: number} = {}): Promise<Serve> {
  return startServeProcess({dataDir: options.data, port: options.port, ...(options.zk ? {zk: options.zk, args: ['--zk-session-timeout', '4000']} : {})})
}

export async function push(serveUrl: string, env: string, key: string, content: string | Buffer, message = 'test'): Promise<VersionMeta> {
  const response = await fetch(`${serveUrl}/api/v1/config/${env}/${key}`, {
    method: 'PUT',
    headers: {authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'x-stconf-message': message},
    body: typeof content === 'string' ? Buffer.from(content) : content,
  })
  const body = (await response.json()) as VersionMeta & {message?: string}
  if (!response.ok) throw new Error(`push ${key} failed: HTTP ${response.status} ${JSON.stringify(body)}`)
  return body
}

/** Write content + meta straight into ZooKeeper, in the shape serve writes them (one multi). */
export async function writeZnodes(zk: ZkClient, env: string, key: string, content: string | Buffer, version: number, root = '/stconf'): Promise<void> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  const meta: VersionMeta = {version, sha256: sha256(bytes), size: bytes.length, author: 'test', message: '', time: new Date().toISOString(), kind: 'push'}
  const configPath = zkPath(root, 'config', env, key)
  const metaPath = zkPath(root, 'meta', env, key)
  await zk.mkdirp(dirname(configPath))
  await zk.mkdirp(dirname(metaPath))
  const [config, metaNode] = [await zk.getData(configPath), await zk.getData(metaPath)]
  await zk.multi([
    config ? {op: 'set', path: configPath, data: bytes, version: config.stat.version} : {op: 'create', path: configPath, data: bytes},
    metaNode
      ? {op: 'set', path: metaPath, data: Buffer.from(JSON.stringify(meta)), version: metaNode.stat.version}
      : {op: 'create', path: metaPath, data: Buffer.from(JSON.stringify(meta))},
  ])
}

export interface AgentFileSpec {
  key: string
  dest: string
  mode?: string
  check?: string
  reload?: string
  reloadTimeout?: string
  wait?: string
  logDiff?: boolean
}

export interface AgentSetup {
  source: string
  env?: string
  host?: string
  /** the instance is then <host>@<app> */
  app?: string
  token?: string
  zkAuth?: string
  pollInterval?: string
  sessionTimeout?: string
  files: AgentFileSpec[]
}

export function writeAgentConfig(dir: string, setup: AgentSetup): string {
  const path = join(dir, 'agent.json')
  writeFileSync(path, JSON.stringify({env: 'prod', host: 'test-host', cacheDir: join(dir, 'cache'), ...setup}, null, 2))
  return path
}

export function startAgent(configPath: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  return runCli(['agent', '--config', configPath, '--log-format', 'json', ...extra], env)
}
