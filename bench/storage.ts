// Storage benchmarks (issue 10, "constant-cost writes"), each next to a baseline from the same run.
// `node --import tsx bench/storage.ts [--only push,inprocess,zk,list,reads]` (all by default; also
// part of `npm run bench`):
// - push p50/p99 on an empty data dir vs one holding 100,000 audit entries and a key with 100,000
//   versions (written straight into journal segments, not by 100k pushes); the two serves are
//   measured interleaved, push for push, so machine noise hits both alike. Target: ratio <= 1.2x.
// - push p50/p99 (embedded and --zk) vs the bare cost of its store: one fsynced 4 KiB append to a
//   file (embedded), a ZooKeeper setData (zk). Target: p50 <= 3x, p99 <= 20 ms. Measured through HTTP
//   (beside a bare HTTP round trip, GET /healthz, so what HTTP itself costs is on the same page) and
//   in-process (Center.push, no HTTP, no second process).
// - throughput of 16 concurrent clients pushing different keys, beside one client's.
// - the embedded store's list() of an env with 5,000 keys: first call (reads each key's newest
//   history line) and later calls (from memory), and GET /api/v1/keys with 5,000 keys.
// - reads on the large data dir: `audit --limit 20`, `audit --since <last minute>`, `history --limit 100`.
import {mkdirSync, writeFileSync} from 'node:fs'
import {open, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {ApiClient} from '../src/lib/client/api-client.js'
import {isStconfError} from '../src/lib/errors.js'
import {writeFileAtomic} from '../src/lib/fs-atomic.js'
import {sha256, type VersionMeta} from '../src/lib/model.js'
import {summarizeAudit} from '../src/lib/server/audit.js'
import {Center} from '../src/lib/server/center.js'
import {encodeKey, History, historyRecord, summarizeVersions, type HistoryRecord} from '../src/lib/server/history.js'
import {SegmentLog} from '../src/lib/server/segment-log.js'
import {openStorage} from '../src/lib/server/storage.js'
import type {AuditEntry} from '../src/lib/server/storage-types.js'
import {EmbeddedStore} from '../src/lib/store/embedded.js'
import {ZkStore} from '../src/lib/store/zk-store.js'
import {ZkClient} from '../src/lib/zk/zk-client.js'
import {ADMIN_TOKEN, startServe, tempDir, type ServeHandle} from '../test/helpers/cli.js'
import {startZk} from '../test/helpers/zk-server.js'
import {percentile} from './core.js'

const ENV = 'bench'
const KEY = 'game/conf.ini'
const STORED = 100_000
const LIST_KEYS = 5000
const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}
const ms = (n: number) => Math.round(n * 100) / 100
const stats = (samples: number[]) => ({p50Ms: ms(percentile(samples, 50)), p99Ms: ms(percentile(samples, 99))})
const ratio = (a: number[], b: number[]) => ms(percentile(a, 50) / percentile(b, 50))
/** the load average beside every figure: the machine is shared, and the lead re-measures on a quiet one */
const load = async () => (await import('node:os')).loadavg().map((n) => Math.round(n * 10) / 10)

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

// Through the product's own client (ApiClient: node:http, keep-alive), as `stconf push` sends it;
// fetch (undici) added ~0.1-0.2 ms of client work to every request on this machine.
const clients = new Map<string, ApiClient>()
const clientOf = (url: string, token = ADMIN_TOKEN) => {
  const id = `${url} ${token}`
  if (!clients.has(id)) clients.set(id, new ApiClient({server: url, token}))
  return clients.get(id)!
}

async function push(url: string, key: string, body: string): Promise<void> {
  const answer = await clientOf(url).push(ENV, key, Buffer.from(body), '')
  if (!answer.changed) throw new Error(`push ${key}: not a new version`)
}

async function health(url: string): Promise<void> {
  await clientOf(url).request('GET', '/healthz')
}

/** A PUT with a body that serve reads and then refuses (wrong token): HTTP and routing, no storage. */
async function refusedPut(url: string, body: string): Promise<void> {
  const refused = await clientOf(url, 'not-a-token')
    .push(ENV, KEY, Buffer.from(body), '')
    .then(
      () => false,
      (error: unknown) => isStconfError(error) && error.code === 'unauthorized',
    )
  if (!refused) throw new Error('refused put: it was not refused as unauthorized')
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
  const history = await SegmentLog.open<HistoryRecord, ReturnType<typeof summarizeVersions>>({
    dir: join(dataDir, 'journal', 'history', ENV, encodeKey(KEY)),
    maxSegmentBytes: 1024 * 1024,
    summarize: summarizeVersions,
  })
  const batch = 10_000
  for (let from = 0; from < STORED; from += batch) {
    const entries: AuditEntry[] = []
    const versions: HistoryRecord[] = []
    for (let i = from; i < from + batch; i++) {
      const time = new Date(start + i * 1000).toISOString()
      const meta: VersionMeta = {version: i + 1, sha256: hash, size: content.length, author: i % 3 ? 'ci' : 'admin', message: `change ${i}`, time, kind: 'push'}
      versions.push(historyRecord(meta, content))
      entries.push({time, actor: meta.author, action: 'push', env: i % 2 ? ENV : 'other', key: KEY, version: i + 1, detail: meta.message})
    }

    await audit.appendMany(entries)
    await history.appendMany(versions)
  }
}

/** The bare cost of the embedded store's durability: append 4 KiB to a file and fsync it. */
async function fsyncedAppend(dir: string): Promise<number> {
  const handle = await open(join(dir, 'baseline.log'), 'a')
  const block = Buffer.alloc(4096, 'x')
  try {
    return await timed(async () => {
      await handle.write(block)
      await handle.datasync()
    })
  } finally {
    await handle.close()
  }
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

export async function benchStorage(only?: Set<string>): Promise<Record<string, unknown>> {
  const scratch = tempDir('stconf-bench-storage-')
  try {
    return await measure(scratch, only ?? new Set(['push', 'inprocess', 'zk', 'list', 'reads']))
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

async function measure(scratch: string, only: Set<string>): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  // 2,000 rounds: p99 is then the 20th-slowest sample, not the 4th (with 400 one scheduler hiccup on
  // either serve moved the p99 ratio by 0.3x from run to run)
  const n = 2000
  if (only.has('push') || only.has('reads')) Object.assign(results, await embeddedOverHttp(scratch, n, only))
  if (only.has('inprocess')) results.inProcess = {load: await load(), ...(await whereTheTimeGoes(join(scratch, 'in-process'), n))}
  if (only.has('zk')) Object.assign(results, await zookeeper(scratch, n))
  if (only.has('list')) results.listOf5000Keys = {load: await load(), ...(await listing(join(scratch, 'list')))}
  return results
}

async function embeddedOverHttp(scratch: string, n: number, only: Set<string>): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
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
    if (only.has('push')) {
      // Interleaved: baseline append, bare HTTP round trip, empty-dir push, large-dir push, so noise hits all alike.
      const baseline: number[] = []
      const http: number[] = []
      const refused: number[] = []
      const onEmpty: number[] = []
      const onLarge: number[] = []
      for (let i = 0; i < n; i++) {
        baseline.push(await fsyncedAppend(scratch))
        http.push(await timed(() => health(empty.url)))
        refused.push(await timed(() => refusedPut(empty.url, `[game]\nrev = ${i}\n`)))
        // the same requests to the large-dir serve (not timed): both serves then push equally warm
        await health(large.url)
        await refusedPut(large.url, `[game]\nrev = ${i}\n`)
        // Each goes first every other round: the second fsync of a pair can wait on the first's journal commit.
        const pushEmpty = async () => onEmpty.push(await timed(() => push(empty.url, KEY, `[game]\nrev = ${i}\n`)))
        const pushLarge = async () => onLarge.push(await timed(() => push(large.url, KEY, `[game]\nrev = ${i}\n`)))
        for (const step of i % 2 === 0 ? [pushEmpty, pushLarge] : [pushLarge, pushEmpty]) await step()
      }

      results.pushVsStoredEntries = {
        load: await load(),
        empty: stats(onEmpty),
        after100kEntries: stats(onLarge),
        ratioP50: ratio(onLarge, onEmpty),
        ratioP99: ms(percentile(onLarge, 99) / percentile(onEmpty, 99)),
        target: '<= 1.2x',
        serveStartOnLargeDirMs: largeStartMs,
      }
      results.embeddedPushVsFsyncedAppend = {
        load: await load(),
        fsyncedAppend4KiB: stats(baseline),
        bareHttpRoundTrip: stats(http),
        refusedPutNoStorage: stats(refused),
        push: stats(onEmpty),
        ratioP50: ratio(onEmpty, baseline),
        httpAloneVsAppendP50: ratio(http, baseline),
        refusedPutVsAppendP50: ratio(refused, baseline),
        pushMinusRefusedPutVsAppendP50: ms((percentile(onEmpty, 50) - percentile(refused, 50)) / percentile(baseline, 50)),
        target: 'p50 <= 3x, p99 <= 20 ms',
      }
      results.embeddedThroughput = {load: await load(), one: await throughput(empty.url, 1, 200, 'one'), sixteen: await throughput(empty.url, 16, 25, 'many')}
    }

    if (only.has('reads')) results.readsOnLargeDataDir = {load: await load(), ...(await readsOn(large))}
  } finally {
    await empty.stop()
    await large.stop()
  }

  return results
}

async function zookeeper(scratch: string, n: number): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  // A ZooKeeper that fsyncs its transaction log, as every production ensemble does: the baseline is
  // then the real cost of a bare setData (the tests' server skips the fsync to run faster).
  const zkServer = await startZk({durable: true})
  let zkServe: ServeHandle | undefined
  const zk = new ZkClient({connect: zkServer.connect})
  zk.start()
  try {
    zkServe = await startServe({zk: zkServer.connect, dataDir: join(scratch, 'zk')})
    await zk.waitConnected(10_000)
    await zk.mkdirp('/bench/raw')
    await push(zkServe.url, KEY, 'warm-up\n')
    // In this process too: a Center on the ZooKeeper store, so the figure without HTTP is beside it.
    const dataDir = join(scratch, 'zk-in-process')
    const storage = await openStorage(dataDir)
    const store = new ZkStore(zk, '/bench-in-process')
    const center = new Center(store, storage.history, storage.audit)
    await center.start()
    await center.push({env: ENV, key: KEY, content: Buffer.from('warm-up\n'), author: 'bench', message: ''})
    // Two loops, each against its own setData samples: through HTTP (serve's ZooKeeper traffic runs
    // meanwhile), then in this process alone (no serve traffic between its samples).
    const setData: number[] = []
    const http: number[] = []
    const refused: number[] = []
    const pushes: number[] = []
    for (let i = 0; i < n; i++) {
      setData.push(await timed(() => zk.setData('/bench/raw', Buffer.from(`rev ${i}`))))
      http.push(await timed(() => health(zkServe!.url)))
      refused.push(await timed(() => refusedPut(zkServe!.url, `[game]\nrev = ${i}\n`)))
      pushes.push(await timed(() => push(zkServe!.url, KEY, `[game]\nrev = ${i}\n`)))
    }

    const setDataAlone: number[] = []
    const inProcess: number[] = []
    for (let i = 0; i < n; i++) {
      setDataAlone.push(await timed(() => zk.setData('/bench/raw', Buffer.from(`rev ${i}`))))
      inProcess.push(await timed(() => center.push({env: ENV, key: KEY, content: Buffer.from(`[game]\nrev = ${i}\n`), author: 'bench', message: ''})))
    }

    await center.close()
    results.zkPushVsSetData = {
      load: await load(),
      setData: stats(setData),
      bareHttpRoundTrip: stats(http),
      refusedPutNoStorage: stats(refused),
      push: stats(pushes),
      ratioP50: ratio(pushes, setData),
      setDataInProcessLoop: stats(setDataAlone),
      centerPushInProcess: stats(inProcess),
      inProcessRatioP50: ratio(inProcess, setDataAlone),
      target: 'p50 <= 3x, p99 <= 20 ms',
    }
    results.zkThroughput = {load: await load(), one: await throughput(zkServe.url, 1, 200, 'one'), sixteen: await throughput(zkServe.url, 16, 25, 'many')}
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
  const center = new Center(new EmbeddedStore(history), history, audit)
  await center.start()
  mkdirSync(dataDir, {recursive: true})
  const content = Buffer.from('[game]\nrev = 0\n')
  const meta = (version: number): VersionMeta => ({version, sha256: sha256(content), size: content.length, author: 'bench', message: '', time: new Date().toISOString(), kind: 'push'})
  const rows: Record<string, number[]> = {fsyncedAppend4KiB: [], historyAppend: [], auditRecord: [], historyBesideAudit: [], atomicFileWrite: [], centerPush: []}
  await center.push({env: ENV, key: KEY, content: Buffer.from('warm-up\n'), author: 'bench', message: ''})
  for (let i = 0; i < n; i++) {
    rows.fsyncedAppend4KiB.push(await fsyncedAppend(dataDir))
    rows.historyAppend.push(await timed(() => history.append(ENV, 'bench/history.ini', meta(2 * i + 1), content)))
    rows.auditRecord.push(await timed(() => audit.record({actor: 'bench', action: 'push', env: ENV, key: KEY, version: i + 1})))
    rows.historyBesideAudit.push(
      await timed(() => Promise.all([history.append(ENV, 'bench/history.ini', meta(2 * i + 2), content), audit.record({actor: 'bench', action: 'push', env: ENV, key: KEY, version: i + 1})])),
    )
    rows.atomicFileWrite.push(await timed(() => writeFileAtomic(join(dataDir, 'atomic.json'), `{"i":${i}}\n`)))
    rows.centerPush.push(await timed(() => center.push({env: ENV, key: KEY, content: Buffer.from(`rev = ${i}\n`), author: 'bench', message: ''})))
  }

  await center.close()
  return {
    ...Object.fromEntries(Object.entries(rows).map(([name, samples]) => [name, stats(samples)])),
    centerPushVsAppendP50: ratio(rows.centerPush, rows.fsyncedAppend4KiB),
  }
}

/** list() of an env with LIST_KEYS keys: the first call reads every key's newest line, later ones are in memory. */
async function listing(dataDir: string): Promise<Record<string, unknown>> {
  // Written straight into history segments (one version each), as 5,000 pushes would leave them.
  const content = Buffer.from('[game]\nmax_players = 100\n')
  for (let k = 0; k < LIST_KEYS; k++) {
    const key = `app${k % 50}/file-${k}.ini`
    const dir = join(dataDir, 'journal', 'history', ENV, encodeKey(key))
    mkdirSync(dir, {recursive: true})
    const meta: VersionMeta = {version: 1, sha256: sha256(content), size: content.length, author: 'bench', message: '', time: new Date().toISOString(), kind: 'push'}
    writeFileSync(join(dir, '0000000001.jsonl'), JSON.stringify(historyRecord(meta, content)) + '\n')
  }

  const cold: number[] = []
  const warm: number[] = []
  for (let run = 0; run < 5; run++) {
    const store = new EmbeddedStore(new History(dataDir))
    let keys = 0
    cold.push(await timed(async () => (keys = (await store.list(ENV)).length)))
    if (keys !== LIST_KEYS) throw new Error(`list: ${keys} keys, expected ${LIST_KEYS}`)
    for (let i = 0; i < 4; i++) warm.push(await timed(() => store.list(ENV)))
  }

  // Through serve: GET /api/v1/keys/<env>, its first call after start and later ones.
  const serve = await startServe({dataDir})
  const http: number[] = []
  let first = 0
  try {
    first = await timed(() => getJson(serve.url, `/api/v1/keys/${ENV}`))
    for (let i = 0; i < 10; i++) http.push(await timed(() => getJson(serve.url, `/api/v1/keys/${ENV}`)))
  } finally {
    await serve.stop()
  }

  return {keys: LIST_KEYS, firstListMs: stats(cold), laterListMs: stats(warm), httpKeysFirstCallMs: ms(first), httpKeysLater: stats(http)}
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
  const flag = process.argv.indexOf('--only')
  const only = flag === -1 ? undefined : new Set(process.argv[flag + 1].split(','))
  console.log(JSON.stringify(await benchStorage(only), null, 2))
  process.exit(0)
}
