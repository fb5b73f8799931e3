import assert from 'node:assert/strict'
import {appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {AuditLog, summarizeAudit} from '../../src/lib/server/audit.js'
import {History} from '../../src/lib/server/history.js'
import {readLinesBackward, SegmentLog} from '../../src/lib/server/segment-log.js'
import type {VersionMeta} from '../../src/lib/model.js'
import {tempDir} from '../helpers/cli.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})

function dir(): string {
  const d = tempDir('stconf-seglog-')
  dirs.push(d)
  return d
}

interface Rec {
  n: number
  pad?: string
}

const countSummary = (s: {first: number; last: number; count: number} | undefined, r: Rec) => ({first: s?.first ?? r.n, last: r.n, count: (s?.count ?? 0) + 1})

/** A sync that counts calls and can hold them until released, to make concurrency deterministic. */
function countingSync() {
  let calls = 0
  let gate: Promise<void> | undefined
  let open: (() => void) | undefined
  return {
    get calls() {
      return calls
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve))
    },
    release() {
      open?.()
      gate = undefined
    },
    sync: async (handle: FileHandle) => {
      calls++
      const wait = gate
      await handle.datasync()
      if (wait) await wait
    },
  }
}

const open = (d: string, maxSegmentBytes = 1024 * 1024, sync?: (h: FileHandle) => Promise<void>) =>
  SegmentLog.open<Rec, {first: number; last: number; count: number}>({dir: d, maxSegmentBytes, summarize: countSummary, sync})

async function all<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of gen) out.push(item)
  return out
}

describe('segment log', () => {
  it('appends records as JSON lines and reads them back newest first, also after reopening', async () => {
    const d = dir()
    const log = await open(d)
    for (let n = 1; n <= 5; n++) await log.append({n})
    assert.deepEqual((await all(log.newestFirst())).map((r) => r.n), [5, 4, 3, 2, 1])
    const again = await open(d)
    assert.deepEqual((await all(again.newestFirst())).map((r) => r.n), [5, 4, 3, 2, 1])
    assert.equal(readFileSync(join(d, '0000000001.jsonl'), 'utf8'), [1, 2, 3, 4, 5].map((n) => `{"n":${n}}\n`).join(''))
  })

  it('creates nothing until the first append', async () => {
    const d = join(dir(), 'deep', 'log')
    const log = await open(d)
    assert.deepEqual(await all(log.newestFirst()), [])
    assert.throws(() => statSync(d))
    await log.append({n: 1})
    assert.ok(statSync(join(d, '0000000001.jsonl')).size > 0)
  })

  it('rotates by size and keeps a summary per sealed segment in index.json', async () => {
    const d = dir()
    const log = await open(d, 200)
    for (let n = 1; n <= 30; n++) await log.append({n, pad: 'x'.repeat(40)})
    const segments = readdirSync(d).filter((n) => n.endsWith('.jsonl'))
    assert.ok(segments.length >= 5, `segments: ${segments.join(' ')}`)
    for (const name of segments) assert.ok(statSync(join(d, name)).size <= 200, name)
    const index = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')) as {segments: Array<{name: string; summary: {first: number; last: number}}>}
    assert.equal(index.segments.length, segments.length - 1) // the active one is not sealed yet
    assert.equal(index.segments[0].summary.first, 1)
    const reopened = await open(d, 200)
    assert.deepEqual((await all(reopened.newestFirst())).map((r) => r.n), Array.from({length: 30}, (_, i) => 30 - i))
    assert.equal(reopened.segments().at(-1)!.summary.last, 30)
  })

  it('keeps the active segment open between appends, and opens the next segment after a rotation', async () => {
    const d = dir()
    const handles: FileHandle[] = []
    const log = await open(d, 200, async (handle) => {
      handles.push(handle)
      await handle.datasync()
    })
    for (let n = 1; n <= 3; n++) await log.append({n, pad: 'x'.repeat(40)})
    assert.equal(new Set(handles).size, 1, 'one open for three appends to one segment')
    for (let n = 4; n <= 6; n++) await log.append({n, pad: 'x'.repeat(40)}) // past 200 bytes: a rotation
    const segments = readdirSync(d).filter((n) => n.endsWith('.jsonl'))
    assert.equal(segments.length, 2)
    assert.equal(new Set(handles).size, 2, 'the sealed segment\'s file was closed, the new one opened')
    assert.deepEqual((await all((await open(d, 200)).newestFirst())).map((r) => r.n), [6, 5, 4, 3, 2, 1])
  })

  it('reads only the segments its summary filter lets through', async () => {
    const d = dir()
    const log = await open(d, 120)
    for (let n = 1; n <= 20; n++) await log.append({n, pad: 'y'.repeat(30)})
    const wanted = log.segments().find((s) => s.summary.first <= 7 && s.summary.last >= 7)!
    // Make every other segment unreadable: a read of any of them would now fail the test.
    for (const s of log.segments()) if (s.name !== wanted.name) writeFileSync(join(d, s.name), 'garbage without newline')
    const got = await all(log.newestFirst((s) => 7 < s.first || 7 > s.last))
    assert.ok(got.some((r) => r.n === 7))
    assert.ok(got.every((r) => r.n >= wanted.summary.first && r.n <= wanted.summary.last))
  })

  it('reads lines backwards across read blocks without reading the whole file', async () => {
    const d = dir()
    const path = join(d, 'big.jsonl')
    const lines = Array.from({length: 3000}, (_, i) => JSON.stringify({n: i, text: 'é€'.repeat(i % 50)}))
    writeFileSync(path, lines.join('\n') + '\n')
    const back: string[] = []
    for await (const line of readLinesBackward(path)) back.push(line.toString('utf8'))
    assert.deepEqual(back, [...lines].reverse())
    const first3: string[] = []
    for await (const line of readLinesBackward(path)) if (first3.push(line.toString('utf8')) === 3) break
    assert.deepEqual(first3, lines.slice(-3).reverse())
  })

  it('skips a torn last line on read, and cuts it off before the next append', async () => {
    const d = dir()
    const log = await open(d)
    for (let n = 1; n <= 3; n++) await log.append({n, pad: 'z'.repeat(20)})
    const path = join(d, '0000000001.jsonl')
    truncateSync(path, statSync(path).size - 10) // record 3 is now half a line
    for await (const line of readLinesBackward(path)) assert.doesNotThrow(() => JSON.parse(line.toString('utf8')))
    const reopened = await open(d)
    assert.deepEqual((await all(reopened.newestFirst())).map((r) => r.n), [2, 1])
    await reopened.append({n: 4})
    const text = readFileSync(path, 'utf8')
    assert.ok(text.endsWith('{"n":4}\n'))
    assert.deepEqual(text.trim().split('\n').map((l) => (JSON.parse(l) as Rec).n), [1, 2, 4])
  })

  it('skips a line a crash left without its end even when the process that wrote it still reads', async () => {
    const d = dir()
    const log = await open(d)
    await log.append({n: 1})
    appendFileSync(join(d, '0000000001.jsonl'), '{"n":2,"pa') // bytes nobody acknowledged
    assert.deepEqual((await all(log.newestFirst())).map((r) => r.n), [1])
  })

  it('group commit: appends that arrive during an fsync share the next one', async () => {
    const d = dir()
    const counter = countingSync()
    const log = await open(d, 1024 * 1024, counter.sync)
    counter.hold()
    const first = log.append({n: 0})
    // 15 concurrent writers while the first fsync is held
    while (counter.calls === 0) await new Promise((resolve) => setImmediate(resolve))
    const rest = Array.from({length: 15}, (_, i) => log.append({n: i + 1}))
    counter.release()
    await Promise.all([first, ...rest])
    assert.equal(counter.calls, 2, 'one fsync for the first append, one shared by the 15 that queued behind it')
    assert.equal((await all(log.newestFirst())).length, 16)
  })

  it('acknowledges an append only after its fsync', async () => {
    const d = dir()
    const counter = countingSync()
    const log = await open(d, 1024 * 1024, counter.sync)
    counter.hold()
    let done = false
    const pending = log.append({n: 1}).then(() => (done = true))
    while (counter.calls === 0) await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(done, false)
    assert.deepEqual(await all(log.newestFirst()), [], 'readers do not see records that are not durable yet')
    counter.release()
    await pending
    assert.equal(done, true)
  })

  it('a failed fsync rejects the batch and leaves no half line behind', async () => {
    const d = dir()
    let fail = false
    const log = await open(d, 1024 * 1024, async (h) => {
      if (fail) throw Object.assign(new Error('no space left on device'), {code: 'ENOSPC'})
      await h.datasync()
    })
    await log.append({n: 1})
    fail = true
    await assert.rejects(log.append({n: 2}), /no space/)
    fail = false
    await log.append({n: 3})
    assert.deepEqual(readFileSync(join(d, '0000000001.jsonl'), 'utf8'), '{"n":1}\n{"n":3}\n')
  })
})

const meta = (version: number): VersionMeta => ({version, sha256: 'a'.repeat(64), size: 1, author: 'ci', message: `v${version}`, time: new Date(0).toISOString(), kind: 'push'})

describe('history on segment logs', () => {
  it('lists newest first, gets any version, knows the last one after a restart', async () => {
    const d = dir()
    const history = new History(d, {maxSegmentBytes: 1000})
    for (let v = 1; v <= 60; v++) await history.append('prod', 'game/conf.ini', meta(v), Buffer.from(`v${v}`))
    await history.append('prod', 'game/other.ini', meta(1), Buffer.from('other'))
    assert.deepEqual((await history.list('prod', 'game/conf.ini', 3)).map((m) => m.version), [60, 59, 58])
    const again = new History(d, {maxSegmentBytes: 1000})
    assert.equal(await again.lastVersion('prod', 'game/conf.ini'), 60)
    assert.equal((await again.get('prod', 'game/conf.ini', 7))?.message, 'v7')
    assert.equal(await again.get('prod', 'game/conf.ini', 61), null)
    assert.equal(await again.lastVersion('prod', 'game/none.ini'), 0)
    await assert.rejects(again.append('prod', 'game/conf.ini', meta(60), Buffer.from('again')), /not after 60/)
    assert.deepEqual((await again.keys()).sort((a, b) => a.key.localeCompare(b.key)), [
      {env: 'prod', key: 'game/conf.ini'},
      {env: 'prod', key: 'game/other.ini'},
    ])
  })
})

describe('audit log on a segment log', () => {
  it('filters by since, env, key, actor and action, combined, oldest first, newest N', async () => {
    const d = dir()
    let clock = Date.parse('2026-11-01T00:00:00Z')
    const audit = new AuditLog(d, {maxSegmentBytes: 600, now: () => new Date((clock += 60_000))})
    for (let i = 0; i < 40; i++) {
      await audit.record({actor: i % 2 ? 'ci' : 'admin', action: i % 5 === 0 ? 'rollback' : 'push', env: i % 3 ? 'prod' : 'dev', key: `game/k${i % 4}.ini`, version: i + 1})
    }

    await audit.record({actor: 'admin', action: 'token-create', detail: 'ci (operator)'})
    assert.equal((await audit.list()).length, 41)
    assert.deepEqual((await audit.list({limit: 2})).map((e) => e.version ?? e.action), [40, 'token-create'])
    const since = new Date(Date.parse('2026-11-01T00:00:00Z') + 35 * 60_000)
    assert.deepEqual((await audit.list({since})).map((e) => e.version ?? e.action), [35, 36, 37, 38, 39, 40, 'token-create'])
    const combined = await audit.list({env: 'prod', actor: 'ci', action: 'rollback'})
    assert.ok(combined.length > 0)
    for (const e of combined) assert.deepEqual([e.env, e.actor, e.action], ['prod', 'ci', 'rollback'])
    assert.deepEqual(combined.map((e) => e.version), [6, 16, 26, 36].filter((v) => (v - 1) % 3 !== 0))
    assert.deepEqual((await audit.list({key: 'game/k1.ini', env: 'dev'})).map((e) => e.version), [10, 22, 34])
    assert.deepEqual(await audit.list({action: 'nothing-like-it'}), [])
    const scoped = await audit.list({envs: ['dev']})
    assert.equal(scoped.length, 14)
    assert.ok(scoped.every((e) => e.env === 'dev'), 'an env-scoped view has no env-less entries either')
    const stored = await audit.record({actor: 'admin', action: 'token-revoke', detail: 'ci'})
    assert.deepEqual((await audit.list({limit: 1}))[0], stored)
  })

  it('--since finds entries written after the clock stepped back', async () => {
    const times = ['2026-11-01T10:00:00Z', '2026-11-01T11:00:00Z', '2026-11-01T12:00:00Z', '2026-11-01T09:30:00Z', '2026-11-01T13:00:00Z']
    let i = 0
    const audit = new AuditLog(dir(), {now: () => new Date(times[i++])})
    for (let n = 1; n <= times.length; n++) await audit.record({actor: 'a', action: 'push', version: n})
    assert.deepEqual((await audit.list({since: new Date('2026-11-01T10:30:00Z')})).map((e) => e.version), [2, 3, 5])
    let j = 0
    const ordered = new AuditLog(dir(), {now: () => new Date(times[j++])})
    for (let n = 1; n <= 3; n++) await ordered.record({actor: 'a', action: 'push', version: n})
    assert.deepEqual((await ordered.list({since: new Date('2026-11-01T10:30:00Z')})).map((e) => e.version), [2, 3])
  })

  it('migrates a data dir of the old layout before its first read or write, whoever opens it', async () => {
    const d = dir()
    mkdirSync(join(d, 'audit'))
    writeFileSync(join(d, 'audit', '2026-11-20.json'), JSON.stringify([{time: '2026-11-20T10:00:00.000Z', actor: 'admin', action: 'push', env: 'prod', key: 'a/b', version: 1}]))
    const audit = new AuditLog(d)
    await audit.record({actor: 'local:root', action: 'token-recover'})
    assert.deepEqual((await audit.list()).map((e) => e.action), ['push', 'token-recover'])
    assert.equal(existsSync(join(d, 'audit')), false)
    assert.ok(existsSync(join(d, 'journal', 'migrated.json')))
  })

  it('summaries list the envs, actors and actions of a segment, until there are too many', () => {
    let s = summarizeAudit(undefined, {time: '2026-01-01T00:00:00Z', actor: 'a', action: 'push', env: 'prod'})
    s = summarizeAudit(s, {time: '2025-12-31T00:00:00Z', actor: 'b', action: 'push'})
    assert.deepEqual([s.count, s.from, s.to, s.envs, s.actors, s.actions, s.ordered], [2, '2025-12-31T00:00:00Z', '2026-01-01T00:00:00Z', ['prod'], ['a', 'b'], ['push'], false])
    for (let i = 0; i < 100; i++) s = summarizeAudit(s, {time: '2026-01-01T00:00:00Z', actor: `u${i}`, action: 'push'})
    assert.equal(s.actors, null)
  })
})
