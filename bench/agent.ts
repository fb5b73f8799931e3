// Agent benchmarks (issue 3), each next to a baseline measured in the same run:
// - push-to-applied latency: from the ZooKeeper write (the multi serve does for a push) to the
//   agent's reload command having run, for 1, 10 and 100 agents (a few real `stconf agent`
//   processes, the rest in one helper process); baseline: a bare setData -> watch round-trip.
// - idle resident memory of one agent process watching 20 files; baseline: bare `node`.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, openSync, readFileSync, writeFileSync, createReadStream} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Agent} from '../src/lib/agent/agent.js'
import {validateAgentConfig} from '../src/lib/agent/config.js'
import {silentLogger} from '../src/lib/agent/types.js'
import {ZkClient} from '../src/lib/zk/zk-client.js'
import {BIN, tempDir, waitUntil, writeZnodes} from '../test/helpers/agent-harness.js'
import {startZk} from '../test/helpers/zk-server.js'

const ENV = 'bench'
const REAL_PROCESSES = 3

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return Number(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(2))
}

function summary(samples: number[]) {
  return {n: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: percentile(samples, 100)}
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!
  return Number((Number(line.split(/\s+/)[1]) / 1024).toFixed(1))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Lines the agents' reload commands write into one FIFO, timestamped on arrival. */
function openFifo(path: string, onLine: (line: string, at: number) => void): () => void {
  execFileSync('mkfifo', [path])
  const fd = openSync(path, 'r+') // r+: never EOF when a writer closes
  const stream = createReadStream('', {fd, autoClose: true})
  let rest = ''
  stream.on('data', (chunk) => {
    const at = performance.now()
    const text = rest + chunk.toString()
    const lines = text.split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) onLine(line, at)
  })
  return () => stream.destroy()
}

interface AgentSpec {
  id: string
  config: Record<string, unknown>
}

function agentSpec(connect: string, dir: string, id: string, fifo: string, files = 1): AgentSpec {
  mkdirSync(join(dir, id), {recursive: true})
  return {
    id,
    config: {
      source: `zk://${connect}/stconf`,
      env: ENV,
      host: id,
      cacheDir: join(dir, id, 'cache'),
      pollInterval: '2s',
      files: Array.from({length: files}, (_, i) => {
        const dest = join(dir, id, `f${i}.ini`)
        // builtins only: the reload reports which version it saw, through the FIFO
        return {key: `bench/f${i}.ini`, dest, reload: `read v < ${dest}; echo "${id} $v" > ${fifo}`}
      }),
    },
  }
}

async function latencyRun(connect: string, writer: ZkClient, count: number, pushes: number): Promise<Record<string, unknown>> {
  const dir = tempDir('stconf-bench-agent-')
  const fifo = join(dir, 'reloads.fifo')
  let version = Number((await writer.getData(`/stconf/meta/${ENV}/bench/f0.ini`))?.data && JSON.parse((await writer.getData(`/stconf/meta/${ENV}/bench/f0.ini`))!.data.toString()).version) || 0
  const seen = new Map<string, number>() // "id version" -> arrival time
  const closeFifo = openFifo(fifo, (line, at) => seen.set(line, at))
  const specs = Array.from({length: count}, (_, i) => agentSpec(connect, dir, `a${count}-${i}`, fifo))
  const real = specs.slice(0, Math.min(REAL_PROCESSES, count))
  const hosted = specs.slice(real.length)
  const children: ChildProcess[] = []
  for (const spec of real) {
    const path = join(dir, `${spec.id}.json`)
    writeFileSync(path, JSON.stringify(spec.config))
    children.push(spawn(process.execPath, [BIN, 'agent', '--config', path], {stdio: 'ignore'}))
  }

  if (hosted.length > 0) {
    const path = join(dir, 'hosted.json')
    writeFileSync(path, JSON.stringify(hosted.map((spec) => spec.config)))
    children.push(spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--agents-host', path], {stdio: 'ignore'}))
  }

  try {
    // warm-up: every agent applied the current version once
    version++
    await writeZnodes(writer, ENV, 'bench/f0.ini', `v${version}\n`, version)
    await waitUntil('all agents to apply the warm-up version', () => specs.every((spec) => seen.has(`${spec.id} v${version}`)), 120_000)
    const samples: number[] = []
    for (let i = 0; i < pushes; i++) {
      version++
      const started = performance.now()
      await writeZnodes(writer, ENV, 'bench/f0.ini', `v${version}\n`, version)
      const v = version
      await waitUntil(`version ${v} on every agent`, () => specs.every((spec) => seen.has(`${spec.id} v${v}`)), 60_000)
      for (const spec of specs) samples.push(seen.get(`${spec.id} v${v}`)! - started)
      await sleep(20)
    }

    return {agents: count, realProcesses: real.length, pushes, ...summary(samples)}
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)))))
    closeFifo()
  }
}

async function zkRoundTrip(connect: string, writer: ZkClient, n: number): Promise<Record<string, unknown>> {
  const watcher = new ZkClient({connect})
  watcher.start()
  await watcher.waitConnected(10_000)
  await writer.mkdirp('/bench/rtt')
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    let started = 0
    const fired = new Promise<number>((resolve) => void watcher.getData('/bench/rtt', () => resolve(performance.now())))
    await sleep(5)
    started = performance.now()
    await writer.setData('/bench/rtt', Buffer.from(String(i)))
    samples.push((await fired) - started)
  }

  watcher.close()
  return summary(samples)
}

async function idleMemory(connect: string, writer: ZkClient): Promise<Record<string, unknown>> {
  const dir = tempDir('stconf-bench-rss-')
  const fifo = join(dir, 'reloads.fifo')
  const seen = new Set<string>()
  const closeFifo = openFifo(fifo, (line) => seen.add(line))
  for (let i = 0; i < 20; i++) await writeZnodes(writer, ENV, `bench/f${i}.ini`, `rss ${i}\n`, 1000 + i)
  const spec = agentSpec(connect, dir, 'rss', fifo, 20)
  const path = join(dir, 'rss.json')
  writeFileSync(path, JSON.stringify(spec.config))
  const agent = spawn(process.execPath, [BIN, 'agent', '--config', path], {stdio: 'ignore'})
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], {stdio: 'ignore'})
  try {
    await waitUntil('20 files applied', () => seen.size >= 20, 60_000)
    await sleep(5000) // idle: watches armed, a couple of polls done
    return {watchedFiles: 20, agentRssMiB: rssMiB(agent.pid!), bareNodeRssMiB: rssMiB(bare.pid!)}
  } finally {
    agent.kill('SIGTERM')
    bare.kill('SIGKILL')
    closeFifo()
  }
}

export async function benchAgent(): Promise<Record<string, unknown>> {
  const zk = await startZk()
  const writer = new ZkClient({connect: zk.connect})
  writer.start()
  await writer.waitConnected(10_000)
  try {
    const baseline = await zkRoundTrip(zk.connect, writer, 200)
    const one = await latencyRun(zk.connect, writer, 1, 100)
    const ten = await latencyRun(zk.connect, writer, 10, 30)
    const hundred = await latencyRun(zk.connect, writer, 100, 10)
    const memory = await idleMemory(zk.connect, writer)
    return {
      note: 'latency = ZooKeeper write of content+meta (one multi, as serve does) -> reload command ran (FIFO line), per agent',
      baselineZkSetDataToWatchMs: baseline,
      pushToApplied: {agents1: one, agents10: ten, agents100: hundred},
      idleMemory: memory,
    }
  } finally {
    writer.close()
    await zk.destroy()
  }
}

// Helper process: many agents in one Node process (the benchmark's "rest").
if (process.argv.includes('--agents-host')) {
  const configs = JSON.parse(readFileSync(process.argv[process.argv.indexOf('--agents-host') + 1], 'utf8')) as unknown[]
  const agents = configs.map((raw) => new Agent({config: validateAgentConfig(raw), logger: silentLogger, agentVersion: 'bench'}))
  await Promise.all(agents.map((agent) => agent.start()))
  process.once('SIGTERM', () => void Promise.all(agents.map((agent) => agent.stop())).then(() => process.exit(0)))
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchAgent(), null, 2))
}
