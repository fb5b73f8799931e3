// Issue 10 ("lean and fast"): start-up of the npm bundle and of the single executable against
// `node -e 0`, the agent's idle memory with 20 files and over 10,000 applied changes (npm bundle on
// this Node, and the executable), and what starting one reload command costs. Ratios are taken in the
// same run, rounds interleaved so a busy moment hits every contender alike.
//   node --import tsx bench/lean.ts [--changes N] [--only startup|steps|memory|reexec|spawn] [--variant 'label=node options' ...] [--base <other build's bin/run.js>]
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {AGENT_NODE_FLAGS} from '../src/commands/agent.js'
import {runShell} from '../src/lib/exec.js'
import {sleep} from '../src/lib/sleep.js'
import {ZkClient} from '../src/lib/zk/zk-client.js'
import {writeZnodes} from '../test/helpers/agent-harness.js'
import {ADMIN_TOKEN, BIN, ROOT, startServe, tempDir, waitUntil} from '../test/helpers/cli.js'
import {startZk} from '../test/helpers/zk-server.js'

const EXECUTABLE = join(ROOT, 'dist', 'sea', 'stconf')
const ENV = 'bench'

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const round = (n: number) => Math.round(n * 100) / 100

/** Resident memory from one read of /proc: all of it, the process's own (anonymous) and its mapped files'. */
function residentMiB(pid: number): {rss: number; anon: number; file: number} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
  const mib = (field: string) => round(Number(status.find((l) => l.startsWith(`${field}:`))!.split(/\s+/)[1]) / 1024)
  return {rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile')}
}

const rssMiB = (pid: number) => residentMiB(pid).rss

function timeOnce(command: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now()
  const result = spawnSync(command[0], command.slice(1), {env, stdio: ['ignore', 'ignore', 'pipe']})
  const elapsed = performance.now() - started
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr}`)
  return elapsed
}

/** `stconf pull` cold start, npm bundle and executable, each next to its own Node's `node -e 0`. */
export async function benchStartup(rounds = 25): Promise<Record<string, unknown>> {
  const node24 = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--node-path'], {encoding: 'utf8'}).trim()
  const serve = await startServe()
  try {
    const work = tempDir('stconf-bench-start-')
    const env = {...process.env, STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}
    await fetch(`${serve.url}/api/v1/config/prod/game/conf.ini`, {method: 'PUT', headers: {authorization: `Bearer ${ADMIN_TOKEN}`}, body: 'k=v\n'})
    const out = join(work, 'out.ini')
    const contenders: Record<string, string[]> = {
      nodeE0: [process.execPath, '-e', '0'],
      npmPull: [process.execPath, BIN, 'pull', 'game/conf.ini', '-o', out],
      node24E0: [node24, '-e', '0'],
    }
    if (existsSync(EXECUTABLE)) contenders.executablePull = [EXECUTABLE, 'pull', 'game/conf.ini', '-o', out]
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
    for (const command of Object.values(contenders)) timeOnce(command, env) // warm the page cache
    for (let i = 0; i < rounds; i++) for (const [name, command] of Object.entries(contenders)) samples[name].push(timeOnce(command, env))
    const median = (name: string) => round(percentile(samples[name], 50))
    return {
      rounds,
      medianMs: Object.fromEntries(Object.keys(contenders).map((name) => [name, median(name)])),
      npmPullOverNodeE0: round(median('npmPull') / median('nodeE0')),
      ...(contenders.executablePull
        ? {executablePullOverNodeE0: round(median('executablePull') / median('nodeE0')), executablePullOverNode24E0: round(median('executablePull') / median('node24E0'))}
        : {}),
      target: 'npm pull <= 2.0x node -e 0',
    }
  } finally {
    await serve.stop()
  }
}

/**
 * One agent process, 20 files in ZooKeeper, each reload appending the version it saw to a file.
 * Idle RSS once all 20 reloads ran, then `changes` changes applied one after another (each waited
 * for until its reload ran), RSS every 1,000, and idle RSS again at the end: each idle figure 5 s
 * after the last reload and again 30 s after it (resting: V8's memory reducer has run).
 */
async function agentMemory(label: string, command: string[], changes: number, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const zk = await startZk()
  const writer = new ZkClient({connect: zk.connect})
  writer.start()
  const dir = tempDir('stconf-bench-lean-')
  let agent: ReturnType<typeof spawn> | undefined
  try {
    await writer.waitConnected(10_000)
    const versions = Array.from({length: 20}, () => 1)
    for (let i = 0; i < 20; i++) await writeZnodes(writer, ENV, `bench/f${i}.ini`, `v=1\n`, 1)
    const files = versions.map((_, i) => ({key: `bench/f${i}.ini`, dest: join(dir, 'out', `f${i}.ini`), reload: `read v < ${join(dir, 'out', `f${i}.ini`)}; echo "$v" >> ${join(dir, `reloads-${i}`)}`}))
    mkdirSync(join(dir, 'out'))
    const config = join(dir, 'agent.json')
    writeFileSync(config, JSON.stringify({source: `zk://${zk.connect}/stconf`, env: ENV, host: label, cacheDir: join(dir, 'cache'), files}))
    const launched = performance.now()
    agent = spawn(command[0], [...command.slice(1), 'agent', '--config', config], {stdio: 'ignore', env})
    const reloaded = (i: number, version: number) => {
      try {
        return readFileSync(join(dir, `reloads-${i}`), 'utf8').endsWith(`v=${version}\n`)
      } catch {
        return false
      }
    }

    await waitUntil('every file reloaded once', () => versions.every((v, i) => reloaded(i, v)), 60_000)
    const firstReloadsMs = round(performance.now() - launched)
    await sleep(5000)
    // anonymous (heap, stacks: the process's own) and file-backed (the pages of node or of the
    // executable it touched, shared with every process mapping the same file)
    const {rss: idleStart, anon, file} = residentMiB(agent.pid!)
    // the standby shell (exec-standby.ts): a child /bin/sh of the agent, counted beside it
    const standby = readFileSync(`/proc/${agent.pid}/task/${agent.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number)
    const standbyRss = standby.length > 0 ? round(standby.reduce((sum, pid) => sum + rssMiB(pid), 0)) : 0
    // and once V8's memory reducer has run (it waits for ~8 s of low allocation, then collects): where
    // an agent rests between changes, whatever point of its GC cycle the 5 s figure happened to catch
    await sleep(25_000)
    const {rss: restStart, ...restStartSplit} = residentMiB(agent.pid!)
    const samples: number[] = []
    const started = Date.now()
    for (let n = 1; n <= changes; n++) {
      const i = n % 20
      versions[i]++
      await writeZnodes(writer, ENV, `bench/f${i}.ini`, `v=${versions[i]}\npad=${'x'.repeat(200)}\n`, versions[i])
      await waitUntil(`change ${n} reloaded`, () => reloaded(i, versions[i]), 30_000)
      if (n % 1000 === 0) samples.push(rssMiB(agent.pid!))
    }

    const seconds = (Date.now() - started) / 1000
    await sleep(5000)
    const {rss: idleEnd, ...idleEndSplit} = residentMiB(agent.pid!)
    await sleep(25_000)
    const {rss: restEnd, ...restEndSplit} = residentMiB(agent.pid!)
    const all = [idleStart, ...samples, idleEnd]
    return {
      startToAllReloadedMs: firstReloadsMs,
      idleRssMiBAfter20Reloads: idleStart,
      // at each idle figure: which of the two a difference is in
      anonFileMiB: {idleStart: {anon, file}, restingStart: restStartSplit, idleEnd: idleEndSplit, restingEnd: restEndSplit},
      standbyShellRssMiB: standbyRss,
      appliedChanges: changes,
      changesPerSecond: round(changes / seconds),
      rssEvery1000MiB: samples,
      idleRssMiBAfterChanges: idleEnd,
      driftPercent: round(((idleEnd - idleStart) / idleStart) * 100),
      restingRssMiB30sAfter20Reloads: restStart,
      restingRssMiB30sAfterChanges: restEnd,
      restingDriftPercent: round(((restEnd - restStart) / restStart) * 100),
      spreadPercent: round(((Math.max(...all) - Math.min(...all)) / idleStart) * 100),
      target: '<= 64 MiB, flat within +-5%',
    }
  } finally {
    agent?.kill('SIGTERM')
    writer.close()
    await zk.destroy()
  }
}

/**
 * The agent's memory, every variant side by side (each with its own ZooKeeper: the machine's load
 * hits all alike): the npm bundle on this Node as installed (on Node 20 the agent sets what V8 still
 * takes after start); the same with the agent's V8 flags on the command line (what Node >= 22.15
 * gets by re-executing itself); the npm bundle on Node 24 (the re-exec for real); the single
 * executable (flags built in); with `base`, another build's agent on this Node, bare and with its flags.
 */
export async function benchMemory(changes = 10_000, variants?: Array<[string, string]>, base?: string): Promise<Record<string, unknown>> {
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], {stdio: 'ignore'})
  await sleep(1000)
  const bareNode = rssMiB(bare.pid!)
  bare.kill()
  const node24 = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--node-path'], {encoding: 'utf8'}).trim()
  const contenders: Array<[string, string[]]> = variants
    ? variants.map(([label, options]) => [label, [process.execPath, ...options.split(' ').filter(Boolean), BIN]])
    : [
        ['npmNode20', [process.execPath, BIN]],
        ['npmNode20WithAgentFlags', [process.execPath, ...AGENT_NODE_FLAGS, BIN]],
        ['npmNode24', [node24, BIN]],
        ...(existsSync(EXECUTABLE) ? [['executable', [EXECUTABLE]] as [string, string[]]] : []),
      ]
  if (base) {
    // another build's bin/run.js (before/after in one run): on this Node as installed, and with the flags that build names
    const {AGENT_NODE_FLAGS: baseFlags} = (await import(join(base, '..', '..', 'src', 'commands', 'agent.ts'))) as {AGENT_NODE_FLAGS: string[]}
    contenders.push(['baseNpmNode20', [process.execPath, base]], ['baseNpmNode20WithAgentFlags', [process.execPath, ...baseFlags, base]])
  }

  const runs = await Promise.all(contenders.map(([label, command]) => agentMemory(label, command, changes)))
  return {bareNodeRssMiB: bareNode, ...Object.fromEntries(contenders.map(([label], i) => [label, runs[i]]))}
}

/**
 * The cost of the agent's re-exec with its flags: Node 24 agents from launch until all 20 reloads
 * ran, started bare (they re-execute themselves) and with the flags already given (no re-exec),
 * rounds interleaved.
 */
export async function benchReexec(rounds = 5): Promise<Record<string, unknown>> {
  const node24 = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--node-path'], {encoding: 'utf8'}).trim()
  const samples: Record<string, number[]> = {reexec: [], flagsGiven: []}
  for (let i = 0; i < rounds; i++) {
    samples.reexec.push((await agentMemory('reexec', [node24, BIN], 0)).startToAllReloadedMs as number)
    samples.flagsGiven.push((await agentMemory('flags', [node24, ...AGENT_NODE_FLAGS, BIN], 0)).startToAllReloadedMs as number)
  }

  return {rounds, medianStartToAllReloadedMs: {reexec: round(percentile(samples.reexec, 50)), flagsGiven: round(percentile(samples.flagsGiven, 50))}}
}

/**
 * What running one command costs, from this process grown to about the agent's size: through
 * runShell (the standby shell started ahead runs it), through execa from this process (what exec.ts
 * did before) and through bare child_process.spawn; interleaved.
 */
export async function benchSpawn(n = 300): Promise<Record<string, unknown>> {
  const ballast: number[][] = []
  while (rssMiB(process.pid) < 85) ballast.push(Array.from({length: 32 * 1024}, (_, i) => i))
  const {execa} = await import('execa')
  const ways: Record<string, () => Promise<unknown>> = {
    runShellViaStandby: () => runShell('true', {timeoutMs: 5000}),
    execaFromThisProcess: async () => {
      const child = execa('true', {shell: '/bin/sh', detached: true, stdin: 'ignore', all: true, buffer: false, reject: false})
      child.all.resume()
      await child
    },
    bareSpawnFromThisProcess: () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', 'true'], {stdio: ['ignore', 'pipe', 'pipe'], detached: true})
        child.stdout.resume()
        child.stderr.resume()
        child.once('error', reject)
        child.once('close', () => resolve())
      }),
  }
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]))
  for (const run of Object.values(ways)) for (let i = 0; i < 10; i++) await run() // load execa, start the standby
  for (let i = 0; i < n; i++) {
    for (const [name, run] of Object.entries(ways)) {
      const started = performance.now()
      await run()
      samples[name].push(performance.now() - started)
    }
  }

  const rss = rssMiB(process.pid)
  ballast.length = 0
  return {
    note: `sh -c true, ${n} rounds interleaved, from this bench process (RSS ${rss} MiB)`,
    ...Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, {p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99))}])),
  }
}

/**
 * Commit -> reload ran against confd, 1 and 10 of each, by the shared side-by-side script
 * (CONFD=<built confd>, CONFD_COMPARE=<script>, default ../shared/peers/confd-compare); its last lines.
 */
export function benchConfd(writes = 300): Record<string, unknown> {
  // /work/main or a worktree under /work/wt
  const script = process.env.CONFD_COMPARE ?? [join(ROOT, '..', 'shared', 'peers', 'confd-compare'), join(ROOT, '..', '..', 'shared', 'peers', 'confd-compare')].find((path) => existsSync(path)) ?? ''
  if (!process.env.CONFD || !existsSync(script)) return {skipped: 'set CONFD to a built confd (and CONFD_COMPARE to the script if it is not ../shared/peers/confd-compare)'}
  const run = (n: number) => {
    const result = spawnSync(script, [String(n), String(writes)], {cwd: ROOT, encoding: 'utf8'})
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    return {loadAfter: load, lines: (result.stdout + result.stderr).trim().split('\n').slice(-2)}
  }

  return {one: run(1), ten: run(10)}
}

/**
 * The steps of one change in the agent, each timed alone on this machine: what a ZooKeeper commit to
 * reload run is made of (the agent does them in this order; the report is sent 20 ms after the file
 * changed, so normally after the reload).
 */
export async function benchSteps(n = 200): Promise<Record<string, unknown>> {
  const zk = await startZk()
  const writer = new ZkClient({connect: zk.connect})
  const watcher = new ZkClient({connect: zk.connect})
  writer.start()
  watcher.start()
  const dir = tempDir('stconf-bench-steps-')
  const stats = (samples: number[]) => ({p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99))})
  try {
    await Promise.all([writer.waitConnected(10_000), watcher.waitConnected(10_000)])
    await writeZnodes(writer, ENV, 'bench/s.ini', 'v=0\n', 1)
    const path = '/stconf/config/bench/bench/s.ini'
    const watchMs: number[] = []
    const readMs: number[] = []
    for (let i = 0; i < n; i++) {
      const fired = new Promise<number>((resolve) => void watcher.getData(path, () => resolve(performance.now())))
      await sleep(2)
      const current = await writer.getData(path)
      const started = performance.now()
      await writer.multi([{op: 'set', path, data: Buffer.from(`v=${i}\n`), version: current!.stat.version}])
      watchMs.push((await fired) - started)
      const readStarted = performance.now()
      await watcher.getData(path)
      readMs.push(performance.now() - readStarted)
    }

    const {open, rename} = await import('node:fs/promises')
    const writeMs: number[] = []
    const fsyncMs: number[] = []
    const renameMs: number[] = []
    const body = Buffer.from(`v=1\npad=${'x'.repeat(200)}\n`)
    for (let i = 0; i < n; i++) {
      const temp = join(dir, `.f.ini.${i}.tmp`)
      let t = performance.now()
      const handle = await open(temp, 'wx', 0o600)
      await handle.writeFile(body)
      writeMs.push(performance.now() - t)
      t = performance.now()
      await handle.sync()
      await handle.close()
      fsyncMs.push(performance.now() - t)
      t = performance.now()
      await rename(temp, join(dir, 'f.ini'))
      renameMs.push(performance.now() - t)
    }

    const spawn = await benchSpawn(n)
    const reportMs: number[] = []
    const report = '/stconf/instances/bench/steps'
    await writer.mkdirp(report)
    for (let i = 0; i < n; i++) {
      const started = performance.now()
      const current = await writer.getData(report)
      await writer.multi([{op: 'set', path: report, data: Buffer.from(JSON.stringify({i, files: Array.from({length: 20}, (_, k) => ({key: `bench/f${k}.ini`, version: i}))})), version: current!.stat.version}])
      reportMs.push(performance.now() - started)
    }

    return {
      zkCommitToWatchMs: stats(watchMs),
      readMetaAndContentMs: stats(readMs),
      writeTempMs: stats(writeMs),
      fsyncMs: stats(fsyncMs),
      renameMs: stats(renameMs),
      reloadSpawn: spawn,
      reportMs: stats(reportMs),
    }
  } finally {
    writer.close()
    watcher.close()
    await zk.destroy()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
  const changes = process.argv.includes('--changes') ? Number(process.argv[process.argv.indexOf('--changes') + 1]) : 10_000
  const results: Record<string, unknown> = {}
  if (!only || only === 'startup') results.startup = await benchStartup()
  if (!only || only === 'steps') results.steps = await benchSteps()
  // --variant 'label=node options' (repeatable): agents of the npm bundle started with those options
  const variants = process.argv.flatMap((arg, i) => (process.argv[i - 1] === '--variant' ? [arg.split(/=(.*)/s).slice(0, 2) as [string, string]] : []))
  // --only agent: everything issue 10 asks of the agent, in one command (confd with CONFD set)
  const agent = only === 'agent'
  if (only === 'spawn' || agent) results.spawn = await benchSpawn()
  if (agent) results.confd = benchConfd()
  // --base <bin/run.js of another build (its dist built)>: that build's agent beside this one's
  const base = process.argv.includes('--base') ? process.argv[process.argv.indexOf('--base') + 1] : undefined
  if (!only || only === 'memory' || agent) results.memory = await benchMemory(changes, variants.length > 0 ? variants : undefined, base)
  if (!only || only === 'reexec' || agent) results.reexec = await benchReexec()
  console.log(JSON.stringify(results, null, 2))
  process.exit(0)
}
