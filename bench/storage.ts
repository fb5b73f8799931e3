// Storage benchmarks (issue 10, "constant-cost writes"), each next to a baseline from the same run:
// - push p50/p99 on an empty data dir vs one holding 100,000 audit entries and a key with 100,000
//   versions (written straight into journal segments, not by 100k pushes); the two serves are
//   measured interleaved, push for push, so machine noise hits both alike. Target: ratio <= 1.2x.
// - push p50/p99 (embedded and --zk) vs the bare cost of its store: one fsynced 4 KiB append to a
//   file (embedded), a ZooKeeper setData (zk). Target: p50 <= 3x, p99 <= 20 ms.
// - throughput of 16 concurrent clients pushing different keys, beside one client's.
// - where a push's time goes, in-process (no HTTP): each write it does, beside the fsynced append.
// - reads on the large data dir: `audit --limit 20`, `audit --since <last minute>`, `history --limit 100`.
import {mkdirSync, writeFileSync} from 'node:fs'
import {open, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {writeFileAtomic} from '../src/lib/fs-atomic.js'
import {summarizeAudit} from '../src/lib/server/audit.js'
import {Center} from '../src/lib/server/center.js'
import {encodeKey, summarizeVersions} from '../src/lib/server/history.js'
import {openStorage} from '../src/lib/server/storage.js'
import {EmbeddedStore} from '../src/lib/store/embedded.js'
import {SegmentLog} from '../src/lib/server/segment-log.js'
import type {AuditEntry} from '../src/lib/server/storage-types.js'
import {sha256, type VersionMeta} from '../src/lib/model.js'
import {ZkClient} from '../src/lib/zk/zk-client.js'
import {ADMIN_TOKEN, startServe, tempDir, type ServeHandle} from '../test/helpers/cli.js'
import {startZk} from '../test/helpers/zk-server.js'
import {percentile} from './core.js'

const ENV = 'bench'
const KEY = 'game/conf.ini'
const STORED = 100_000
const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}
const ms = (n: number) => Math.round(n * 100) / 100
const stats = (samples: number[]) => ({p50Ms: ms(percentile(samples, 50)), p99Ms: ms(percentile(samples, 99))})

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

async function push(url: string, key: string, body: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/config/${ENV}/${key}`, {method: 'PUT', headers: auth, body})
  await response.arrayBuffer()
  if (response.status !== 201) throw new Error(`push ${key}: HTTP ${response.status}`)
}

async function getJson(url: string, path: string): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {headers: auth})
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}`)
  return response.headers.get('content-type')?.includes('json') ? response.json() : response.arrayBuffer()
}

/** A data dir as a busy center leaves it: STORED audit entries and one key with STORED versions. */
async function writeLargeDataDir(dataDir: string): Promise<void> {
  const start = Date.now() - STORED * 1000
  const content = Buffer.from('[game]\nrev = 0\n')
  const hash = sha256(content)
  const audit = await SegmentLog.open<AuditEntry, ReturnType<typeof summarizeAudit>>({dir: join(dataDir, 'journal', 'audit'), maxSegmentBytes: 4 * 1024 * 1024, summarize: summarizeAudit})
  const history = await SegmentLog.open<VersionMeta, ReturnType<typeof summarizeVersions>>({
    dir: join(dataDir, 'journal', 'history', ENV, encodeKey(KEY)),
    maxSegmentBytes: 1024 * 1024,
    summarize: summarizeVersions,
  })
  const batch = 10_000
  let last: VersionMeta | undefined
  for (let from = 0; from < STORED; from += batch) {
    const entries: AuditEntry[] = []
    const versions: VersionMeta[] = []
    for (let i = from; i < from + batch; i++) {
      const time = new Date(start + i * 1000).toISOString()
      last = {version: i + 1, sha256: hash, size: content.length, author: i % 3 ? 'ci' : 'admin', message: `change ${i}`, time, kind: 'push'}
      versions.push(last)
      entries.push({time, actor: last.author, action: 'push', env: i % 2 ? ENV : 'other', key: KEY, version: i + 1, detail: last.message})
    }

    await audit.appendMany(entries)
    await history.appendMany(versions)
  }

  // The embedded store's pointer and blob for that key's current version.
  mkdirSync(join(dataDir, 'blobs', hash.slice(0, 2)), {recursive: true})
  writeFileSync(join(dataDir, 'blobs', hash.slice(0, 2), hash), content)
  mkdirSync(join(dataDir, 'current', ENV), {recursive: true})
  writeFileSync(join(dataDir, 'current', ENV, `${encodeKey(KEY)}.json`), JSON.stringify(last) + '\n')
}

/** The bare cost of the embedded store's durability: append 4 KiB to a file and fsync it. */
async function fsyncedAppends(dir: string, n: number): Promise<number[]> {
  const handle = await open(join(dir, 'baseline.log'), 'a')
  const block = Buffer.alloc(4096, 'x')
  const samples: number[] = []
  try {
    for (let i = 0; i < n; i++) {
      samples.push(
        await timed(async () => {
          await handle.write(block)
          await handle.datasync()
        }),
      )
    }
  } finally {
    await handle.close()
  }

  return samples
}

/** Pushes per second: `clients` concurrent loops, each pushing its own key `perClient` times. */
async function throughput(url: string, clients: number, perClient: number, tag: string): Promise<{clients: number; pushesPerSecond: number} & ReturnType<typeof stats>> {
  const samples: number[] = []
  const t0 = performance.now()
  await Promise.all(
    Array.from({length: clients}, async (_, c) => {
      for (let i = 0; i < perClient; i++) samples.push(await timed(() => push(url, `load/${tag}-${c}.ini`, `rev = ${i}\n`)))
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  return {clients, pushesPerSecond: Math.round((clients * perClient) / seconds), ...stats(samples)}
}

export async function benchStorage(): Promise<Record<string, unknown>> {
  const scratch = tempDir('stconf-bench-storage-')
  try {
    return await measure(scratch)
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

async function measure(scratch: string): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  const n = 400
  const largeDir = join(scratch, 'large')
  let t0 = performance.now()
  await writeLargeDataDir(largeDir)
  results.largeDataDir = {auditEntries: STORED, versionsOfOneKey: STORED, writtenInMs: Math.round(performance.now() - t0)}

  const empty = await startServe({dataDir: join(scratch, 'empty')})
  t0 = performance.now()
  const large = await startServe({dataDir: largeDir})
  const largeStartMs = Math.round(performance.now() - t0)
  try {
    await push(empty.url, KEY, 'warm-up\n')
    await push(large.url, KEY, 'warm-up\n')
    // Interleaved: baseline append, empty-dir push, large-dir push, so noise hits all three alike.
    const baseline: number[] = []
    const onEmpty: number[] = []
    const onLarge: number[] = []
    for (let i = 0; i < n; i++) {
      baseline.push(...(await fsyncedAppends(scratch, 1)))
      onEmpty.push(await timed(() => push(empty.url, KEY, `[game]\nrev = ${i}\n`)))
      onLarge.push(await timed(() => push(large.url, KEY, `[game]\nrev = ${i}\n`)))
    }

    results.pushVsStoredEntries = {
      empty: stats(onEmpty),
      after100kEntries: stats(onLarge),
      ratioP50: ms(percentile(onLarge, 50) / percentile(onEmpty, 50)),
      ratioP99: ms(percentile(onLarge, 99) / percentile(onEmpty, 99)),
      target: '<= 1.2x',
      serveStartOnLargeDirMs: largeStartMs,
    }
    results.embeddedPushVsFsyncedAppend = {
      fsyncedAppend4KiB: stats(baseline),
      push: stats(onEmpty),
      ratioP50: ms(percentile(onEmpty, 50) / percentile(baseline, 50)),
      target: 'p50 <= 3x, p99 <= 20 ms',
    }

    results.readsOnLargeDataDir = await readsOn(large)
    results.embeddedThroughput = {one: await throughput(empty.url, 1, 200, 'one'), sixteen: await throughput(empty.url, 16, 25, 'many')}
  } finally {
    await empty.stop()
    await large.stop()
  }

  results.inProcess = await whereTheTimeGoes(join(scratch, 'in-process'), n)

  const zkServer = await startZk()
  let zkServe: ServeHandle | undefined
  const zk = new ZkClient({connect: zkServer.connect})
  zk.start()
  try {
    zkServe = await startServe({zk: zkServer.connect, dataDir: join(scratch, 'zk')})
    await zk.waitConnected(10_000)
    await zk.mkdirp('/bench/raw')
    await push(zkServe.url, KEY, 'warm-up\n')
    const setData: number[] = []
    const pushes: number[] = []
    for (let i = 0; i < n; i++) {
      setData.push(await timed(() => zk.setData('/bench/raw', Buffer.from(`rev ${i}`))))
      pushes.push(await timed(() => push(zkServe!.url, KEY, `[game]\nrev = ${i}\n`)))
    }

    results.zkPushVsSetData = {setData: stats(setData), push: stats(pushes), ratioP50: ms(percentile(pushes, 50) / percentile(setData, 50)), target: 'p50 <= 3x, p99 <= 20 ms'}
    results.zkThroughput = {one: await throughput(zkServe.url, 1, 200, 'one'), sixteen: await throughput(zkServe.url, 16, 25, 'many')}
  } finally {
    zk.close()
    await zkServe?.stop()
    await zkServer.destroy()
  }

  return results
}

/** The same writes as a push, one kind at a time, in this process: what storage costs without HTTP. */
async function whereTheTimeGoes(dataDir: string, n: number): Promise<Record<string, unknown>> {
  const {history, audit} = await openStorage(dataDir)
  const center = new Center(new EmbeddedStore(dataDir, history), history, audit)
  await center.start()
  mkdirSync(dataDir, {recursive: true})
  const meta = (version: number): VersionMeta => ({version, sha256: 'x'.repeat(64), size: 1, author: 'bench', message: '', time: new Date().toISOString(), kind: 'push'})
  const rows: Record<string, number[]> = {fsyncedAppend4KiB: [], historyAppend: [], auditRecord: [], atomicFileWrite: [], centerPush: []}
  for (let i = 0; i < n; i++) {
    rows.fsyncedAppend4KiB.push(...(await fsyncedAppends(dataDir, 1)))
    rows.historyAppend.push(await timed(() => history.append(ENV, 'bench/history.ini', meta(i + 1))))
    rows.auditRecord.push(await timed(() => audit.record({actor: 'bench', action: 'push', env: ENV, key: KEY, version: i + 1})))
    rows.atomicFileWrite.push(await timed(() => writeFileAtomic(join(dataDir, 'atomic.json'), `{"i":${i}}\n`)))
    rows.centerPush.push(await timed(() => center.push({env: ENV, key: KEY, content: Buffer.from(`rev = ${i}\n`), author: 'bench', message: ''})))
  }

  await center.close()
  return Object.fromEntries(Object.entries(rows).map(([name, samples]) => [name, stats(samples)]))
}

async function readsOn(serve: ServeHandle): Promise<Record<string, unknown>> {
  const runs = 50
  const recent = new Date(Date.now() - 60_000).toISOString()
  const sample = async (path: string) => {
    const samples: number[] = []
    for (let i = 0; i < runs; i++) samples.push(await timed(() => getJson(serve.url, path)))
    return stats(samples)
  }

  return {
    auditLimit20: await sample('/api/v1/audit?limit=20'),
    auditSinceLastMinute: await sample(`/api/v1/audit?since=${encodeURIComponent(recent)}`),
    auditEnvActorLimit20: await sample(`/api/v1/audit?env=${ENV}&actor=admin&limit=20`),
    historyLimit100: await sample(`/api/v1/history/${ENV}/${KEY}?limit=100`),
    historyOldestVersion: await sample(`/api/v1/config/${ENV}/${KEY}?version=1`),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchStorage(), null, 2))
  process.exit(0)
}
