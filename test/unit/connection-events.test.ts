// The connection log of serve: which raw wrapper events become an operator's log line, and which
// repeats are dropped. The wrapper is replaced by an EventEmitter with the same events (pure unit).
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {describe, it} from 'node:test'
import {describeConnection, watchConnection, type ZkConnectionEvent} from '../../src/lib/zk/connection-events.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'

class FakeClient extends EventEmitter {
  connectString = 'zk1:2181,zk2:2181'
  session = ''
}

describe('ZooKeeper connection events', () => {
  it('reports connect, loss, same-session reconnect, expiry and a new session, once each', () => {
    const client = new FakeClient()
    const events: ZkConnectionEvent[] = []
    const stop = watchConnection(client as unknown as ZkClient, (event) => events.push(event), () => new Date('2026-12-01T10:00:00.000Z'))
    client.session = 'a1'
    client.emit('connected', {newSession: true})
    client.emit('disconnected')
    client.emit('disconnected') // a second failed attempt while down is not news
    client.emit('rebuild', 'no session for 10000 ms (connection attempt stuck)')
    client.emit('connected', {newSession: false})
    client.emit('expired')
    client.emit('rebuild', 'session expired')
    client.session = 'b2'
    client.emit('connected', {newSession: true})
    client.emit('rebuild', 'no answer to pings (half-open connection)')
    stop()
    client.emit('disconnected')
    assert.deepEqual(
      events.map((e) => `${e.state} ${e.session}${e.reason ? ` ${e.reason}` : ''}`),
      ['connected a1', 'lost a1', 'reconnected a1', 'lost a1', 'expired a1', 'new-session b2', 'lost b2 no answer to pings (half-open connection)'],
    )
    assert.equal(events[0].time, '2026-12-01T10:00:00.000Z')
    assert.equal(events[0].address, 'zk1:2181,zk2:2181')
  })

  it('says what happened in one line with the address', () => {
    const base = {time: 't', address: '127.0.0.1:2181', session: 'ff'}
    assert.equal(describeConnection({...base, state: 'lost'}), 'ZooKeeper 127.0.0.1:2181: connection lost; retrying, answering 503 until it is back')
    assert.equal(describeConnection({...base, state: 'expired'}), 'ZooKeeper 127.0.0.1:2181: session 0xff expired; starting a new one')
    assert.equal(describeConnection({...base, state: 'new-session'}), 'ZooKeeper 127.0.0.1:2181: new session 0xff established; watches re-armed')
    assert.equal(describeConnection({...base, state: 'reconnected'}), 'ZooKeeper 127.0.0.1:2181: reconnected (same session 0xff)')
  })
})
