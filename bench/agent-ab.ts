// Two builds of the agent side by side, interleaved (A, B, A, B ...) so that the machine's load hits
// both alike: ZooKeeper commit -> reload latency of one agent process, and its idle RSS watching 20
// files. Usage: node --import tsx bench/agent-ab.ts <bin/run.js of A> <bin/run.js of B> [rounds]
// (each build's dist/ must be built). Prints one JSON line per measurement and the medians.
import {execFileSync} from 'node:child_process'
import {idleMemory, withZk, zkLatency} from './agent.js'

const [a, b] = process.argv.slice(2, 4)
const rounds = Number(process.argv[4] ?? 3)
if (!a || !b) throw new Error('usage: bench/agent-ab.ts <A bin/run.js> <B bin/run.js> [rounds] - the two builds to compare')
const load = () => execFileSync('uptime', {encoding: 'utf8'}).trim().replace(/.*load average: /, '')
const results: Record<string, Array<{p50Ms: number; p99Ms: number; rssMiB: number}>> = {[a]: [], [b]: []}
for (let round = 0; round < rounds; round++) {
  for (const bin of round % 2 === 0 ? [a, b] : [b, a]) {
    process.env.STCONF_BENCH_BIN = bin
    const latency = (await zkLatency(1, 50, `ab${round}`)) as {p50Ms: number; p99Ms: number}
    const memory = (await withZk((connect, writer) => idleMemory(connect, writer))) as {agentRssMiB: number}
    const row = {p50Ms: latency.p50Ms, p99Ms: latency.p99Ms, rssMiB: memory.agentRssMiB}
    results[bin].push(row)
    console.log(JSON.stringify({round, bin, ...row, load: load()}))
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
for (const bin of [a, b]) {
  const rows = results[bin]
  console.log(JSON.stringify({bin, medianP50Ms: median(rows.map((r) => r.p50Ms)), medianP99Ms: median(rows.map((r) => r.p99Ms)), medianRssMiB: median(rows.map((r) => r.rssMiB))}))
}
