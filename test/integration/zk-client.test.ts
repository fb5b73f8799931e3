import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ZkClient, ZkConflictError} from '../../src/lib/zk/zk-client.js'
import {startZk, type TestZk} from '../helpers/zk-server.js'

describe('ZkClient against a real ZooKeeper', () => {
  let server: TestZk
  before(async () => {
    server = await startZk()
  })
  after(async () => server.destroy())

  it('reads, writes, multis with version checks and fires watches', async () => {
    const zk = new ZkClient({connect: server.connect, sessionTimeoutMs: 4000})
    zk.start()
    await zk.waitConnected(10_000)
    await zk.mkdirp('/t/a')
    assert.equal(await zk.getData('/t/missing'), null)
    await zk.create('/t/a/x', Buffer.from('one'))
    const first = await zk.getData('/t/a/x')
    assert.equal(first?.data.toString(), 'one')
    const fired = new Promise<void>((resolve) => void zk.getData('/t/a/x', resolve))
    await zk.multi([{op: 'set', path: '/t/a/x', data: Buffer.from('two'), version: first!.stat.version}])
    await fired
    await assert.rejects(
      zk.multi([{op: 'set', path: '/t/a/x', data: Buffer.from('three'), version: first!.stat.version}]),
      (error: unknown) => error instanceof ZkConflictError && error.zkCode === 'BAD_VERSION',
    )
    assert.equal((await zk.getData('/t/a/x'))?.data.toString(), 'two')
    zk.close()
  })

  // The test's timeout is the deadline for "does not queue forever": a call that never settles fails it.
  it('fails a call with "unavailable" by its deadline while ZooKeeper is down, and recovers', {timeout: 60_000}, async () => {
    const zk = new ZkClient({connect: server.connect, sessionTimeoutMs: 4000, opTimeoutMs: 800})
    zk.start()
    await zk.waitConnected(10_000)
    await zk.mkdirp('/t/down')
    await zk.create('/t/down/x', Buffer.from('kept'))
    await server.stop()
    await assert.rejects(zk.getData('/t/down/x'), /unreachable/)
    await server.start()
    await zk.waitConnected(15_000)
    assert.equal((await zk.getData('/t/down/x'))?.data.toString(), 'kept')
    zk.close()
  })

  it('rebuilds a client whose connection attempt hangs (server accepts TCP, never answers)', {timeout: 30_000}, async () => {
    // The raw client clears its connect timeout once TCP is up, so without the watchdog it waits forever.
    const {createServer} = await import('node:net')
    const sockets: import('node:net').Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as {port: number}).port
    const zk = new ZkClient({connect: `127.0.0.1:${port}`, sessionTimeoutMs: 1000})
    const rebuilt = new Promise<string>((resolve) => zk.once('rebuild', resolve))
    zk.start()
    assert.match(await rebuilt, /no session for 1000 ms/)
    assert.ok(sockets.length >= 1, 'the client never reached the silent server')
    zk.close()
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
})
