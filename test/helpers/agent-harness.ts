// Real processes for agent tests: `stconf agent` started from a config file, what they write and log,
// their reports in ZooKeeper, and ZooKeeper written straight as serve writes it.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {InstanceReport} from '../../src/lib/agent/types.js'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {zkPath} from '../../src/lib/zk/zk-client.js'
import {ADMIN_TOKEN, spawnCli, waitUntil, type Proc} from './cli.js'

export function readText(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

export function countLines(path: string): number {
  const text = readText(path)
  return text ? text.split('\n').filter(Boolean).length : 0
}

export interface LogLine {
  level: string
  msg: string
  [field: string]: unknown
}

/** The JSON log lines (--log-format json) in a process's output. */
export function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
}

/** An agent's instance report as it stands in ZooKeeper, with the session that owns the node. */
export async function readInstance(zk: ZkClient, env: string, host: string, root = '/stconf'): Promise<{report: InstanceReport; owner: string} | undefined> {
  const node = await zk.getData(zkPath(root, 'instances', env, host))
  return node ? {report: JSON.parse(node.data.toString()) as InstanceReport, owner: node.stat.ephemeralOwner} : undefined
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
  return spawnCli(['agent', '--config', configPath, '--log-format', 'json', ...extra], {env})
}

/**
 * A file the agent manages only so that a test can see its polls: the poll puts a hand edit of it
 * back. Waiting for that `rounds` times shows that that many polls came and went, so a test can say
 * "nothing happened meanwhile" without sleeping for a guessed time. List it after the files under test.
 */
export class PollProbe {
  static readonly key = 'game/poll-probe.ini'
  static readonly content = 'probe\n'
  constructor(readonly dest: string) {}

  get file(): AgentFileSpec {
    return {key: PollProbe.key, dest: this.dest}
  }

  /** Push the probe's content to the center (before the agent starts). */
  publish(serveUrl: string, env: string): Promise<VersionMeta> {
    return push(serveUrl, env, PollProbe.key, PollProbe.content)
  }

  async polls(rounds = 3): Promise<void> {
    await waitUntil('the poll probe applied', () => readText(this.dest) === PollProbe.content)
    for (let round = 1; round <= rounds; round++) {
      writeFileSync(this.dest, `hand edit ${round}\n`)
      await waitUntil(`poll ${round} to put the probe back`, () => readText(this.dest) === PollProbe.content)
    }
  }
}
