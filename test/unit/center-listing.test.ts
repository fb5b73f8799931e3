// The embedded center keeps each env's key listing after the first read (center.ts, `listings`):
// what it lists must still be what the store holds, after a push, and when a push lands while the
// first read is under way.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Center} from '../../src/lib/server/center.js'
import {openStorage} from '../../src/lib/server/storage.js'
import {EmbeddedStore} from '../../src/lib/store/embedded.js'
import {tempDir} from '../helpers/cli.js'

async function center(gate?: Promise<void>, dataDir = tempDir('stconf-listing-')) {
  const {history, audit} = await openStorage(dataDir)
  const store = new EmbeddedStore(dataDir, history)
  let reads = 0
  // Counts the store's listings; with a gate, a listing waits for it after reading the files.
  const list = store.list.bind(store)
  store.list = async (env) => {
    reads++
    const listed = await list(env)
    await gate
    return listed
  }

  const c = new Center(store, history, audit)
  await c.start()
  return {center: c, reads: () => reads, dataDir}
}

const push = (c: Center, key: string, text: string) => c.push({env: 'prod', key, content: Buffer.from(text), author: 'test', message: ''})
const listed = async (c: Center) => (await c.list('prod')).map(({key, meta}) => `${key}@${meta.version}`)

describe('the embedded center keeps its key listing', () => {
  it('reads the store once, then lists pushes, new keys in order, at once', async () => {
    const {center: c, reads} = await center()
    await push(c, 'b.ini', '1')
    await push(c, 'd.ini', '1')
    assert.deepEqual(await listed(c), ['b.ini@1', 'd.ini@1'])
    const after = reads()
    await push(c, 'b.ini', '2')
    await push(c, 'a.ini', '1')
    await push(c, 'c.ini', '1')
    assert.deepEqual(await listed(c), ['a.ini@1', 'b.ini@2', 'c.ini@1', 'd.ini@1'])
    assert.deepEqual(await c.envs(), [{env: 'prod', keys: 4}])
    assert.equal(reads(), after, 'no second read of the store')
  })

  it('a listing read while a push lands is not kept: the next one reads the store again', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const {center: c, reads} = await center(gate)
    await push(c, 'a.ini', '1')
    const racing = c.list('prod') // reads a.ini@1, then waits at the gate
    await new Promise((resolve) => setImmediate(resolve))
    await push(c, 'a.ini', '2')
    open()
    await racing
    const before = reads()
    assert.deepEqual(await listed(c), ['a.ini@2'])
    assert.equal(reads(), before + 1, 'read again, not taken from the racing read')
  })

  it('a center started on a data dir lists its keys without reading them again (the start-up check read them)', async () => {
    const first = await center()
    await push(first.center, 'a.ini', '1')
    await first.center.close()
    const {center: c, reads} = await center(undefined, first.dataDir)
    const atStart = reads()
    assert.deepEqual(await listed(c), ['a.ini@1'])
    assert.equal(reads(), atStart)
  })
})
