// With a store that is not the history (ZooKeeper), a push writes its history line and audit entry
// beside the store's commit (src/lib/server/center.ts, commitBeside). These cases drive the failures
// a real ZooKeeper gives rarely and at random: a commit refused, a connection that breaks during one
// (the commit landed or not), a crash between the history line and the commit. The store is a small
// in-memory stand-in (the decisions are the center's); history and audit are the real ones on a temp
// dir. The same paths against a real ZooKeeper and serve: test/integration/serve-zk.test.ts.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {rmSync} from 'node:fs'
import {conflict, unavailable} from '../../src/lib/errors.js'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import {AuditLog} from '../../src/lib/server/audit.js'
import {Center} from '../../src/lib/server/center.js'
import {History} from '../../src/lib/server/history.js'
import type {ConfigStore, StoredCurrent} from '../../src/lib/store/types.js'
import {tempDir} from '../helpers/cli.js'

const KEY = 'game/conf.ini'
const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})

/** What the next commit does: lands, is refused, or breaks (after landing or before). */
type Next = 'commit' | 'conflict' | 'lost-after-landing' | 'lost-before-landing'

class MemoryStore implements ConfigStore {
  readonly mode = 'zookeeper' as const
  reachable = true
  readable = true
  next: Next = 'commit'
  readonly current = new Map<string, StoredCurrent>()
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  async get(env: string, key: string): Promise<StoredCurrent | null> {
    return this.current.get(`${env}/${key}`) ?? null
  }

  async getMeta(env: string, key: string): Promise<VersionMeta | null> {
    if (!this.readable) throw unavailable('ZooKeeper is unreachable')
    return this.current.get(`${env}/${key}`)?.meta ?? null
  }

  async commit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number): Promise<void> {
    if (!this.reachable) throw unavailable('ZooKeeper is unreachable')
    const next = this.next
    this.next = 'commit'
    if ((this.current.get(`${env}/${key}`)?.meta.version ?? 0) !== previous || next === 'conflict') throw conflict(`conflict: ${env}/${key} changed while writing`)
    if (next === 'lost-before-landing') throw unavailable('connection lost')
    this.current.set(`${env}/${key}`, {meta, content})
    if (next === 'lost-after-landing') throw unavailable('connection lost')
  }

  async envs(): Promise<string[]> {
    return [...new Set([...this.current.keys()].map((id) => id.split('/')[0]))]
  }

  async list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    return [...this.current.entries()].filter(([id]) => id.startsWith(`${env}/`)).map(([id, {meta}]) => ({key: id.slice(env.length + 1), meta}))
  }
}

async function started(store = new MemoryStore(), dir = tempDir('stconf-center-')) {
  dirs.push(dir)
  const history = new History(dir)
  const audit = new AuditLog(dir)
  const center = new Center(store, history, audit)
  await center.start()
  const push = (text: string) => center.push({env: 'prod', key: KEY, content: Buffer.from(text), author: 'ci', message: ''})
  const versions = async () => (await history.list('prod', KEY)).map((m) => m.version)
  const audited = async () => (await audit.list()).map((e) => `${e.action} ${e.version}${e.detail ? `: ${e.detail}` : ''}`)
  return {store, center, history, audit, push, versions, audited, dir}
}

describe('a push beside a ZooKeeper commit', () => {
  it('takes back its history line and audits the failure when the commit is refused; the retry takes the next number', async () => {
    const {store, push, versions, audited, history} = await started()
    await push('a=1\n')
    await push('a=2\n')
    store.next = 'conflict'
    const answer = await push('a=3\n')
    assert.equal(answer.meta.version, 4)
    assert.deepEqual(await versions(), [4, 2, 1])
    assert.equal(await history.read('prod', KEY, 3), null)
    assert.deepEqual(await audited(), ['push 1', 'push 2', 'push 3', 'push-failed 3: not stored: conflict: prod/game/conf.ini changed while writing', 'push 4'])
  })

  it('answers a push whose connection broke after the commit landed as done, history and audit whole', async () => {
    const {store, push, versions, audited} = await started()
    await push('a=1\n')
    store.next = 'lost-after-landing'
    const answer = await push('a=2\n')
    assert.equal(answer.meta.version, 2)
    assert.deepEqual(await versions(), [2, 1])
    assert.deepEqual(await audited(), ['push 1', 'push 2'])
  })

  it('takes back a push whose connection broke before the commit landed, and answers the error', async () => {
    const {store, push, versions, audited} = await started()
    await push('a=1\n')
    store.next = 'lost-before-landing'
    await assert.rejects(push('a=2\n'), /connection lost/)
    assert.deepEqual(await versions(), [1])
    assert.deepEqual(await audited(), ['push 1', 'push 2', 'push-failed 2: not stored: connection lost'])
  })

  it('settles a commit it could not find out about before the next push of that key', async () => {
    const {store, center, push, versions, audited} = await started()
    await push('a=1\n')
    store.next = 'lost-before-landing'
    store.readable = false
    await assert.rejects(push('a=2\n'), /connection lost/)
    assert.deepEqual(await versions(), [2, 1], 'unknown: the line stays until the store can say')
    // ... and no reader is shown a version in doubt.
    assert.deepEqual((await center.historyOf('prod', KEY)).map((m) => m.version), [1])
    await assert.rejects(center.versionContent('prod', KEY, 2), /has no version 2/)
    store.readable = true
    const answer = await push('a=3\n')
    assert.equal(answer.meta.version, 3)
    assert.deepEqual(await versions(), [3, 1])
    assert.deepEqual(await audited(), ['push 1', 'push 2', 'push-failed 2: not stored: connection lost', 'push 3'])
  })

  it('writes nothing beside a commit while the store is unreachable: no version number is used', async () => {
    const {store, push, versions, audited} = await started()
    await push('a=1\n')
    store.reachable = false
    await assert.rejects(push('a=2\n'), /unreachable/)
    store.reachable = true
    assert.equal((await push('a=2\n')).meta.version, 2)
    assert.deepEqual(await versions(), [2, 1])
    assert.deepEqual(await audited(), ['push 1', 'push 2'])
  })

  it('withdraws at start a line a crash left ahead of its commit, and leaves alone a history the store is further behind', async () => {
    const first = await started()
    await first.push('a=1\n')
    await first.push('a=2\n')
    // Serve stopped between writing version 3's line and its commit: the store still holds 2.
    const three = Buffer.from('a=3\n')
    const meta: VersionMeta = {version: 3, sha256: sha256(three), size: three.length, author: 'ci', message: '', time: new Date().toISOString(), kind: 'push'}
    await first.history.append('prod', KEY, meta, three)
    await first.center.close()
    const again = await started(first.store, first.dir)
    assert.deepEqual(await again.versions(), [2, 1])
    assert.deepEqual((await again.audited()).slice(-1), ['push-failed 3: not stored: serve stopped before its commit finished (it was never acknowledged)'])
    assert.equal((await again.push('a=4\n')).meta.version, 4)

    // A store behind by more than that one line (restored from an old copy) is not serve's unfinished push.
    first.store.current.set(`prod/${KEY}`, {meta: (await again.history.get('prod', KEY, 1))!, content: Buffer.from('a=1\n')})
    await again.center.close()
    const restored = await started(first.store, first.dir)
    assert.deepEqual(await restored.versions(), [4, 2, 1])
  })
})
