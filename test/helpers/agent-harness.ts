// Real processes for agent tests: the one set-up of their files (useAgentRig), `stconf agent` started
// from a config file, what they write and log, their reports in ZooKeeper, and ZooKeeper written
// straight as serve writes it.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {after, afterEach, before} from 'node:test'
import type {InstanceReport} from '../../src/lib/agent/types.js'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import type {ZkClient, ZkOptions} from '../../src/lib/zk/zk-client.js'
import {zkPath} from '../../src/lib/zk/zk-client.js'
import {alive} from './cleanup.js'
import {ADMIN_TOKEN, spawnCli, startServe, waitUntil, type Proc, type ServeHandle, type ServeOptions} from './cli.js'
import {connectZk, startZk, type TestZk} from './zk-server.js'

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

  // The deadline of the LONG waits: on a machine loaded past its cores (a load of 13 on 2 in one run)
  // a poll came later than the default 20 s twice.
  async polls(rounds = 3, timeoutMs = 60_000): Promise<void> {
    await waitUntil('the poll probe applied', () => readText(this.dest) === PollProbe.content, timeoutMs)
    for (let round = 1; round <= rounds; round++) {
      writeFileSync(this.dest, `hand edit ${round}\n`)
      await waitUntil(`poll ${round} to put the probe back`, () => readText(this.dest) === PollProbe.content, timeoutMs)
    }
  }
}

/** What useAgentRig starts for the describe block it is called in. */
export interface AgentRigOptions {
  /** a throwaway ZooKeeper; serve, if started, runs on it (--zk, a 4 s session timeout) */
  zk?: boolean
  /** `stconf serve` (true, or its options); without it, none */
  serve?: boolean | ServeOptions
  /** a ZkClient of the test's own on that ZooKeeper, with these options */
  client?: Omit<ZkOptions, 'connect'>
}

/** AgentSetup with the source optional: useAgentRig's source() (and the admin token for http) fills it in. */
export type RigAgentSetup = Omit<AgentSetup, 'source'> & {source?: string}

/**
 * The one set-up of the agent test files: ZooKeeper, serve and a ZkClient started in before() and
 * stopped in after(); the agents and daemons a case started are killed after it (a SIGSTOPped one
 * continued first). Call it inside describe(); read its fields inside the cases.
 */
export function useAgentRig(options: AgentRigOptions) {
  let zk: TestZk | undefined
  let serve: ServeHandle | undefined
  let client: ZkClient | undefined
  const procs: Proc[] = []
  const daemons: number[] = []
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useAgentRig: no ${what} (started in before(), and only when asked for)`)
    return value
  }

  before(async () => {
    if (options.zk) zk = await startZk()
    if (options.serve) {
      const serveOptions = options.serve === true ? {} : options.serve
      serve = await startServe(zk ? {zk: zk.connect, zkSessionTimeoutMs: 4000, ...serveOptions} : serveOptions)
    }

    if (options.client) client = await connectZk(need(zk, 'ZooKeeper'), options.client)
  })

  // Each case's agents go with the case, so the next one runs without them.
  afterEach(async () => {
    for (const proc of procs.splice(0)) {
      if (proc.running) proc.child.kill('SIGCONT')
      await proc.stop('SIGKILL')
    }

    for (const pid of daemons.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })

  after(async () => {
    client?.close()
    await serve?.stop()
    await zk?.destroy()
  })

  const rig = {
    get zk(): TestZk {
      return need(zk, 'ZooKeeper')
    },
    get serve(): ServeHandle {
      return need(serve, 'serve')
    },
    get client(): ZkClient {
      return need(client, 'ZkClient')
    },
    /** Where agents read: zk://<ZooKeeper><root> with a ZooKeeper, else serve's URL. */
    source(root = '/stconf'): string {
      return zk ? `zk://${zk.connect}${root}` : need(serve, 'serve').url
    },
    /** Write the agent's config into `dir` and start it (JSON logs); it is killed with the rig. */
    agent(dir: string, setup: RigAgentSetup, extra: string[] = []): Proc {
      const source = setup.source ?? rig.source()
      const token = setup.token ?? (source.startsWith('http') ? ADMIN_TOKEN : undefined)
      return rig.track(startAgent(writeAgentConfig(dir, {...setup, source, ...(token ? {token} : {})}), extra))
    },
    /** A process of the test's own, killed with the rig if it still runs. */
    track(proc: Proc): Proc {
      procs.push(proc)
      return proc
    },
    /** A daemon's pid, killed with the rig if it is still alive. */
    trackDaemon(pid: number): number {
      daemons.push(pid)
      return pid
    },
    /** The instance report in ZooKeeper, as the rig's client reads it. */
    async instance(env: string, host: string, root = '/stconf'): Promise<InstanceReport | undefined> {
      return (await readInstance(rig.client, env, host, root))?.report
    },
  }
  return rig
}
