import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ZkClient, ZkClosedError, ZkConflictError, type ZkStateChange} from '../../src/lib/zk/zk-client.js'
import {startZk, type TestZk} from '../helpers/zk-server.js'

/** Resolves with the first state change that `match` accepts. */
function nextState(zk: ZkClient, match: (change: ZkStateChange) => boolean): Promise<ZkStateChange> {
  return new Promise((resolve) => {
    const stop = zk.onState((change) => {
      if (!match(change)) return
      stop()
      resolve(change)
    })
  })
}

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
    let secondAttempt!: () => void
    const rebuilt = new Promise<void>((resolve) => (secondAttempt = resolve))
    const silent = createServer((socket) => {
      sockets.push(socket)
      if (sockets.length === 2) secondAttempt()
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as {port: number}).port
    const zk = new ZkClient({connect: `127.0.0.1:${port}`, sessionTimeoutMs: 1000})
    zk.start()
    // The raw client would sit on its first socket for good: a second one is the rebuilt client's.
    await rebuilt
    assert.equal(zk.connectionState, undefined, 'no state is reported before a first session')
    zk.close()
    for (const socket of sockets) socket.destroy()
    silent.close()
  })

  it('reports connected, suspended, then reconnected on the same session when ZooKeeper comes back in time', {timeout: 60_000}, async () => {
    const zk = new ZkClient({connect: server.connect, sessionTimeoutMs: 30_000})
    const states: string[] = []
    zk.onState((change) => states.push(`${change.state}${change.newSession ? ' (new session)' : ''}`))
    const connected = nextState(zk, (change) => change.state === 'connected')
    zk.start()
    const first = await connected
    const suspended = nextState(zk, (change) => change.state === 'suspended')
    await server.stop()
    assert.equal((await suspended).session, first.session)
    const back = nextState(zk, (change) => change.state === 'reconnected')
    await server.start()
    const again = await back
    assert.equal(again.session, first.session, 'the session survived the outage')
    assert.deepEqual(states, ['connected (new session)', 'suspended', 'reconnected'])
    zk.close()
  })

  it('reports the session lost when ZooKeeper stays away past the session timeout, then a new session', {timeout: 60_000}, async () => {
    const zk = new ZkClient({connect: server.connect, sessionTimeoutMs: 2000})
    const states: string[] = []
    zk.onState((change) => states.push(`${change.state}${change.newSession ? ' (new session)' : ''}`))
    const connected = nextState(zk, (change) => change.state === 'connected')
    zk.start()
    const first = await connected
    const lost = nextState(zk, (change) => change.state === 'lost')
    await server.stop()
    const gone = await lost
    assert.equal(gone.session, first.session)
    assert.match(gone.reason ?? '', /no session for 2000 ms/)
    const back = nextState(zk, (change) => change.state === 'reconnected')
    await server.start()
    const again = await back
    assert.ok(again.newSession)
    assert.notEqual(again.session, first.session)
    assert.deepEqual(states, ['connected (new session)', 'suspended', 'lost', 'reconnected (new session)'])
    zk.close()
  })

  it('keeps its session when a reconnect attempt is accepted but never answered', {timeout: 90_000}, async () => {
    // A proxy in front of ZooKeeper that swallows one connection (accepts it, never answers), as a
    // server does that restarts on a loaded machine. The raw client would wait on it for good.
    const {createServer, connect} = await import('node:net')
    let swallowNext = false
    const held: import('node:net').Socket[] = []
    const links: import('node:net').Socket[] = []
    const proxy = createServer((inbound) => {
      inbound.on('error', () => undefined)
      links.push(inbound)
      if (swallowNext) {
        swallowNext = false
        held.push(inbound)
        return
      }

      const outbound = connect(server.port, '127.0.0.1')
      outbound.on('error', () => undefined)
      links.push(outbound)
      inbound.pipe(outbound).pipe(inbound)
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const zk = new ZkClient({connect: `127.0.0.1:${(proxy.address() as {port: number}).port}`, sessionTimeoutMs: 30_000})
    const states: string[] = []
    zk.onState((change) => states.push(`${change.state}${change.newSession ? ' (new session)' : ''}`))
    const connected = nextState(zk, (change) => change.state === 'connected')
    zk.start()
    const first = await connected
    swallowNext = true
    const back = nextState(zk, (change) => change.state !== 'suspended')
    for (const socket of links.splice(0)) socket.destroy() // the connection drops
    const again = await back
    assert.equal(held.length, 1, 'the first reconnect attempt went to the silent end')
    assert.equal(again.state, 'reconnected')
    assert.equal(again.session, first.session, 'the session survived the hung attempt')
    assert.deepEqual(states, ['connected (new session)', 'suspended', 'reconnected'])
    zk.close()
    for (const socket of [...links, ...held]) socket.destroy()
    proxy.close()
  })

  it('connects after a connection that broke mid-packet (no stale bytes glued to the next answer)', {timeout: 60_000}, async () => {
    // The first connection gets the start of a packet (a length of 100 and 10 of those bytes), then
    // breaks; later ones go to ZooKeeper. The raw client would glue those bytes to the next answer.
    const {createServer, connect} = await import('node:net')
    const sockets: import('node:net').Socket[] = []
    let first = true
    let attempts = 0
    const proxy = createServer((inbound) => {
      inbound.on('error', () => undefined)
      sockets.push(inbound)
      attempts++
      if (first) {
        first = false
        const partial = Buffer.alloc(14)
        partial.writeInt32BE(100, 0)
        inbound.end(partial)
        return
      }

      const outbound = connect(server.port, '127.0.0.1')
      outbound.on('error', () => undefined)
      sockets.push(outbound)
      inbound.pipe(outbound).pipe(inbound)
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const zk = new ZkClient({connect: `127.0.0.1:${(proxy.address() as {port: number}).port}`, sessionTimeoutMs: 30_000})
    zk.start()
    await zk.waitConnected(30_000)
    assert.ok(await zk.exists('/'), 'the session answers')
    // With the stale bytes kept, the second connection's answer reads as an unfinished packet: that
    // attempt hangs until the watchdog drops it, and more attempts follow.
    assert.equal(attempts, 2, 'the broken connection, then one that worked')
    zk.close()
    for (const socket of sockets) socket.destroy()
    proxy.close()
  })

  it('drops a connection attempt it closes before the server answered (no close request answered out of turn)', {timeout: 60_000}, async () => {
    // A proxy that holds the first connection: it takes the connect request and forwards nothing
    // until released. The client is closed while it waits for the answer. The raw client would queue a
    // close request on that socket and read the server's connect answer as the close's reply: with
    // no request sent before, the ids line up and the session id's bytes read as an error code, which
    // throws "Unknown code" from the socket handler and crashes the process.
    const {createServer, connect} = await import('node:net')
    const sockets: import('node:net').Socket[] = []
    let release!: () => void
    let requested!: () => void
    const heard = new Promise<void>((resolve) => (requested = resolve))
    let closedByClient!: () => void
    const dropped = new Promise<void>((resolve) => (closedByClient = resolve))
    const proxy = createServer((inbound) => {
      inbound.on('error', () => undefined)
      inbound.on('close', () => closedByClient())
      sockets.push(inbound)
      const held: Buffer[] = []
      const hold = (chunk: Buffer) => {
        held.push(chunk)
        requested()
      }
      inbound.on('data', hold)
      release = () => {
        if (inbound.destroyed) return
        const outbound = connect(server.port, '127.0.0.1')
        outbound.on('error', () => undefined)
        sockets.push(outbound)
        inbound.off('data', hold)
        for (const chunk of held) outbound.write(chunk)
        inbound.pipe(outbound).pipe(inbound)
        outbound.on('close', () => inbound.destroy())
      }
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const zk = new ZkClient({connect: `127.0.0.1:${(proxy.address() as {port: number}).port}`, sessionTimeoutMs: 30_000})
    zk.start()
    await heard // the connect request is on its way: the attempt is under way, unanswered
    zk.close()
    release()
    await dropped
    for (const socket of sockets) socket.destroy()
    proxy.close()
  })

  it('guards its life cycle: one start, close drops every listener and waiter, use after close is a clear error', async () => {
    const zk = new ZkClient({connect: server.connect, sessionTimeoutMs: 4000})
    await assert.rejects(zk.getData('/t'), /used before start\(\) - call start\(\) first/)
    const heard: string[] = []
    zk.onState((change) => heard.push(change.state))
    zk.start()
    assert.throws(() => zk.start(), /already started - start a client once/)
    await zk.waitConnected(10_000)
    assert.deepEqual(heard, ['connected'])
    assert.equal(zk.listenerCount, 1)
    zk.close()
    assert.equal(zk.state, 'closed')
    assert.equal(zk.listenerCount, 0, 'close() removed every state listener')
    await assert.rejects(zk.getData('/t'), (error: unknown) => error instanceof ZkClosedError && /is closed/.test(error.message))
    assert.throws(() => zk.onState(() => undefined), ZkClosedError)
    assert.throws(() => zk.start(), /already closed/)
    zk.close() // a second close does nothing

    // A waiter does not hang until its deadline when the client closes under it.
    const other = new ZkClient({connect: '127.0.0.1:1', sessionTimeoutMs: 60_000})
    other.start()
    const waiting = other.waitConnected(60_000)
    other.close()
    await assert.rejects(waiting, ZkClosedError)
  })
})
