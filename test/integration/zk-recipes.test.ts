// The ZooKeeper recipes (src/lib/zk/recipes/) against a real ZooKeeper: what each one sees, how it
// comes back after its session is lost (ZooKeeper away past the session timeout), and that close()
// leaves nothing behind that still reacts.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ChildrenScan, type ScanScope} from '../../src/lib/zk/recipes/children-scan.js'
import {EphemeralNode} from '../../src/lib/zk/recipes/ephemeral-node.js'
import {NodeWatch, type ZkNode} from '../../src/lib/zk/recipes/node-watch.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {waitUntil} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

/** What a listener heard, in order; next() waits for the next one not yet taken. */
class Heard<T> {
  private readonly items: T[] = []
  private readonly waiters: Array<(item: T) => void> = []
  push(item: T): void {
    const waiter = this.waiters.shift()
    if (waiter) waiter(item)
    else this.items.push(item)
  }

  async next(): Promise<T> {
    if (this.items.length > 0) return this.items.shift()!
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  get pending(): number {
    return this.items.length
  }
}

const text = (node: ZkNode | null) => (node ? node.data.toString() : null)

describe('ZooKeeper recipes against a real ZooKeeper', () => {
  let server: TestZk
  let writer: ZkClient
  const clients: ZkClient[] = []
  const client = async (sessionTimeoutMs = 30_000) => {
    const zk = await connectZk(server, {sessionTimeoutMs})
    clients.push(zk)
    return zk
  }

  /** Keep ZooKeeper away until `zk` has given its session up, then bring it back (and the writer with it). */
  const loseSession = async (zk: ZkClient) => {
    const lost = new Promise<void>((resolve) => {
      const stop = zk.onState((change) => change.state === 'lost' && (stop(), resolve()))
    })
    await server.stop()
    await lost
    await server.start()
    await writer.waitConnected(60_000)
  }

  before(async () => {
    server = await startZk()
    // A short session: after each restart of ZooKeeper below, a writer whose reconnect got stuck is
    // rebuilt soon (the wrapper gives a client a session timeout to find a session).
    writer = await client(4000)
    await writer.mkdirp('/w')
  })
  after(async () => {
    for (const zk of clients) zk.close()
    await server.destroy()
  })

  it('a node watch hears a create, a change and a delete, each with the re-read', async () => {
    const zk = await client()
    const heard = new Heard<string | null>()
    const watch = new NodeWatch(zk, '/w/a', (reread) => void reread.then((node) => heard.push(text(node))))
    watch.start()
    assert.equal(await watch.read(), null, 'absent: the read leaves an existence watch')
    assert.ok(watch.armed)
    await writer.create('/w/a', Buffer.from('one'))
    assert.equal(await heard.next(), 'one')
    await writer.setData('/w/a', Buffer.from('two'))
    assert.equal(await heard.next(), 'two')
    await writer.remove('/w/a')
    assert.equal(await heard.next(), null)
    await writer.create('/w/a', Buffer.from('three'))
    assert.equal(await heard.next(), 'three', 'the delete left an existence watch behind')
    watch.close()
  })

  it('a node watch re-arms itself on the new session after its session is lost', {timeout: 90_000}, async () => {
    await writer.mkdirp('/w/b')
    const zk = await client(2000)
    const heard = new Heard<string | null>()
    const watch = new NodeWatch(zk, '/w/b', (reread) => void reread.then((node) => heard.push(text(node)), () => heard.push('unreachable')))
    watch.start()
    await watch.read()
    const firstSession = zk.session
    await loseSession(zk)
    // The reconnect itself is news (events may have been missed), and its read re-arms the watch.
    assert.equal(await heard.next(), '')
    assert.notEqual(zk.session, firstSession)
    assert.ok(watch.armed, 'armed in the new session')
    await writer.setData('/w/b', Buffer.from('after'))
    assert.equal(await heard.next(), 'after')
    watch.close()
  })

  it('a closed node watch hears nothing more and leaves no state listener behind', async () => {
    await writer.create('/w/c', Buffer.from('one'))
    const zk = await client()
    const baseline = zk.listenerCount
    const closedHeard = new Heard<string | null>()
    const openHeard = new Heard<string | null>()
    const closing = new NodeWatch(zk, '/w/c', (reread) => void reread.then((node) => closedHeard.push(text(node))))
    const open = new NodeWatch(zk, '/w/c', (reread) => void reread.then((node) => openHeard.push(text(node))))
    closing.start()
    open.start()
    assert.throws(() => closing.start(), /start\(\) on a started recipe/)
    await Promise.all([closing.read(), open.read()])
    assert.equal(zk.listenerCount, baseline + 2)
    closing.close()
    assert.equal(closing.state, 'closed')
    assert.equal(zk.listenerCount, baseline + 1)
    await assert.rejects(closing.read(), /used while closed/)
    await writer.setData('/w/c', Buffer.from('two'))
    // Both watches sat on the same path of the same session: ZooKeeper's one event reached both.
    assert.equal(await openHeard.next(), 'two')
    assert.equal(closedHeard.pending, 0, 'the closed watch did not react')
    open.close()
    assert.equal(zk.listenerCount, baseline)
  })

  it('a children scan runs for what fired, and again in full after each reconnect', {timeout: 90_000}, async () => {
    await writer.mkdirp('/s')
    await writer.create('/s/a', Buffer.from('a1'))
    const zk = await client(2000)
    const runs = new Heard<string>()
    const seen = new Map<string, string>()
    const scan = new ChildrenScan(zk, '/s', async (reads, scope: ScanScope) => {
      for (const child of (await reads.children('/s')) ?? []) {
        const node = await reads.data(`/s/${child}`)
        if (node) seen.set(child, node.data.toString())
      }

      runs.push(scope === 'all' ? 'all' : [...scope].sort().join(','))
    })
    scan.start()
    assert.equal(await runs.next(), 'all')
    assert.deepEqual([...seen], [['a', 'a1']])
    await writer.create('/s/b', Buffer.from('b1'))
    assert.equal(await runs.next(), '/s', 'the children watch fired')
    await writer.setData('/s/a', Buffer.from('a2'))
    assert.equal(await runs.next(), '/s/a', 'the data watch fired')
    assert.deepEqual([...seen].sort(), [['a', 'a2'], ['b', 'b1']])
    await loseSession(zk)
    assert.equal(await runs.next(), 'all', 'a full scan after the new session')
    await writer.setData('/s/b', Buffer.from('b2'))
    assert.equal(await runs.next(), '/s/b', 'the full scan re-armed the watches on the new session')
    scan.close()
  })

  it('a closed children scan runs no more and leaves no state listener behind', async () => {
    await writer.mkdirp('/t')
    const zk = await client()
    const baseline = zk.listenerCount
    const closedRuns = new Heard<string>()
    const openRuns = new Heard<string>()
    const scanOf = (runs: Heard<string>) =>
      new ChildrenScan(zk, '/t', async (reads, scope) => {
        await reads.children('/t')
        runs.push(scope === 'all' ? 'all' : [...scope].join(','))
      })
    const closing = scanOf(closedRuns)
    const open = scanOf(openRuns)
    closing.start()
    open.start()
    assert.equal(await closedRuns.next(), 'all')
    assert.equal(await openRuns.next(), 'all')
    closing.close()
    assert.equal(zk.listenerCount, baseline + 1)
    await assert.rejects(closing.scanNow(), /used while closed/)
    await writer.create('/t/x', Buffer.alloc(0))
    assert.equal(await openRuns.next(), '/t')
    assert.equal(closedRuns.pending, 0, 'the closed scan did not run')
    open.close()
    assert.equal(zk.listenerCount, baseline)
  })

  it('an ephemeral node holds the last data, comes back on a new session, and goes with close in one multi', {timeout: 90_000}, async () => {
    await writer.mkdirp('/e')
    const zk = await client(2000)
    const node = new EphemeralNode(zk, '/e/one', {name: 'test node', takenHint: 'two owners?'})
    node.start()
    await node.set(Buffer.from('v1'))
    await node.set(Buffer.from('v2'))
    const first = await writer.getData('/e/one')
    assert.equal(first?.data.toString(), 'v2')
    assert.equal(first?.stat.ephemeralOwner, zk.session)
    assert.ok(node.owned)

    // Another live session may not take it over.
    const rival = new EphemeralNode(writer, '/e/one', {name: 'test node', takenHint: 'two owners?'})
    rival.start()
    await assert.rejects(rival.set(Buffer.from('theirs')), /test node \/e\/one belongs to another live session/)
    rival.close()

    const oldSession = zk.session
    await loseSession(zk)
    const back = await waitUntil('the node re-created by the new session', async () => {
      const now = await writer.getData('/e/one').catch(() => null)
      return now && now.stat.ephemeralOwner === zk.session && now.stat.ephemeralOwner !== oldSession ? now : null
    }, 60_000)
    assert.equal(back.data.toString(), 'v2', 'with the last data')

    const removal = await node.remove(async () => [{op: 'create', path: '/e/one~stopped', data: Buffer.from('bye')}])
    assert.deepEqual(removal, {removed: true})
    assert.equal(node.state, 'closed')
    assert.equal(await writer.getData('/e/one'), null)
    assert.equal((await writer.getData('/e/one~stopped'))?.data.toString(), 'bye')
    await assert.rejects(node.set(Buffer.from('v3')), /used while closed/)
  })
})
