// When a children scan runs, and for what: the scheduling of src/lib/zk/recipes/children-scan.ts
// (merged triggers, full scans after reconnects, nothing while disconnected, one watch per path and
// session). The ZooKeeper client is replaced by a small in-memory one (pure unit); the real client
// is exercised in test/integration/zk-recipes.test.ts.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ChildrenScan, type ScanScope} from '../../src/lib/zk/recipes/children-scan.js'
import type {ZkClient, ZkStateChange, ZkStateListener} from '../../src/lib/zk/zk-client.js'

class FakeZk {
  connected = true
  session = 's1'
  readonly listeners = new Set<ZkStateListener>()
  watchers: Array<{path: string; fire: () => void}> = []

  onState(listener: ZkStateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async waitConnected(): Promise<void> {}

  async getChildren(path: string, watcher?: () => void): Promise<string[]> {
    if (watcher) this.watchers.push({path, fire: watcher})
    return []
  }

  tell(change: Partial<ZkStateChange> & Pick<ZkStateChange, 'state'>): void {
    for (const listener of this.listeners) listener({session: this.session, newSession: false, expired: false, ...change})
  }

  /** ZooKeeper's event for `path`: every watch on it fires once and is gone. */
  fire(path: string): void {
    const hits = this.watchers.filter((watcher) => watcher.path === path)
    this.watchers = this.watchers.filter((watcher) => watcher.path !== path)
    for (const hit of hits) hit.fire()
  }

  watchesOn(path: string): number {
    return this.watchers.filter((watcher) => watcher.path === path).length
  }
}

const describeScope = (scope: ScanScope) => (scope === 'all' ? 'all' : [...scope].sort().join(','))

/** A scan of /a and /b whose runs wait for `release()` while `hold` is set. */
function setUp() {
  const zk = new FakeZk()
  const runs: string[] = []
  let hold = false
  let release: () => void = () => undefined
  let runStarted: () => void = () => undefined
  const scan = new ChildrenScan(zk as unknown as ZkClient, 'the test tree', async (reads, scope) => {
    await reads.children('/a')
    await reads.children('/b')
    runs.push(describeScope(scope))
    runStarted()
    if (hold) await new Promise<void>((resolve) => (release = resolve))
  })
  return {
    zk,
    runs,
    scan,
    holdRuns: () => (hold = true),
    release: () => {
      hold = false
      release()
    },
    nextRun: () => new Promise<void>((resolve) => (runStarted = resolve)),
  }
}

describe('children scan scheduling', () => {
  it('merges the watches that fire during a run into one more run, for just those paths', async () => {
    const {zk, runs, scan, holdRuns, release, nextRun} = setUp()
    holdRuns()
    const first = nextRun()
    scan.start()
    await first
    zk.fire('/a')
    zk.fire('/b')
    const second = nextRun()
    release()
    await second
    assert.deepEqual(runs, ['all', '/a,/b'])
    scan.close()
  })

  it('lets a full scan asked for during a run absorb the paths', async () => {
    const {zk, runs, scan, holdRuns, release, nextRun} = setUp()
    holdRuns()
    const first = nextRun()
    scan.start()
    await first
    zk.fire('/a')
    zk.tell({state: 'reconnected'})
    const second = nextRun()
    release()
    await second
    assert.deepEqual(runs, ['all', 'all'])
    scan.close()
  })

  it('joins a running full scan when asked for one, instead of running two', async () => {
    const {runs, scan, holdRuns, release, nextRun} = setUp()
    holdRuns()
    const first = nextRun()
    scan.start()
    await first
    const done = scan.scanNow()
    release()
    await done
    assert.deepEqual(runs, ['all'])
    scan.close()
  })

  it('runs nothing while disconnected, and a full scan once reconnected', async () => {
    const {zk, runs, scan, nextRun} = setUp()
    const first = nextRun()
    scan.start()
    await first
    zk.connected = false
    zk.tell({state: 'suspended'})
    zk.fire('/a') // the run it asks for finds the client disconnected, synchronously
    assert.deepEqual(runs, ['all'])
    zk.connected = true
    const back = nextRun()
    zk.tell({state: 'reconnected'})
    await back
    assert.deepEqual(runs, ['all', 'all'])
    scan.close()
  })

  it('leaves one watch per path and session: none more on a re-read, a new one on a new session', async () => {
    const {zk, scan, nextRun} = setUp()
    const first = nextRun()
    scan.start()
    await first
    assert.equal(zk.watchesOn('/a'), 1)
    const again = nextRun()
    zk.tell({state: 'reconnected'})
    await again
    assert.equal(zk.watchesOn('/a'), 1, 'the same session keeps its watch: no second listener')
    zk.session = 's2'
    const renewed = nextRun()
    zk.tell({state: 'reconnected', newSession: true})
    await renewed
    assert.equal(zk.watchesOn('/a'), 2, 'armed again on the new session')
    scan.close()
    assert.equal(zk.listeners.size, 0)
  })
})
