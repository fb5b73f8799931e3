// The connection log of serve: which typed states of the wrapper become an operator's log line, and
// which are not news. The wrapper is replaced by an object with the same onState (pure unit).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {describeConnection, watchConnection, type ZkConnectionEvent} from '../../src/lib/zk/connection-events.js'
import type {ZkClient, ZkStateChange, ZkStateListener} from '../../src/lib/zk/zk-client.js'

class FakeClient {
  connectString = 'zk1:2181,zk2:2181'
  readonly listeners = new Set<ZkStateListener>()
  onState(listener: ZkStateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  tell(change: Partial<ZkStateChange> & Pick<ZkStateChange, 'state' | 'session'>): void {
    for (const listener of this.listeners) listener({newSession: false, expired: false, ...change})
  }
}

describe('ZooKeeper connection events', () => {
  it('reports connect, loss, same-session reconnect, expiry and a new session, once each', () => {
    const client = new FakeClient()
    const events: ZkConnectionEvent[] = []
    const stop = watchConnection(client as unknown as ZkClient, (event) => events.push(event), () => new Date('2026-12-01T10:00:00.000Z'))
    client.tell({state: 'connected', session: 'a1', newSession: true})
    client.tell({state: 'suspended', session: 'a1'})
    client.tell({state: 'reconnected', session: 'a1'})
    client.tell({state: 'suspended', session: 'a1'})
    client.tell({state: 'lost', session: 'a1', expired: true, reason: 'session expired'})
    client.tell({state: 'reconnected', session: 'b2', newSession: true})
    client.tell({state: 'suspended', session: 'b2'})
    // given up while already down (a stuck attempt): not news, the next line says "new session"
    client.tell({state: 'lost', session: 'b2', reason: 'no session for 10000 ms (connection attempt stuck)'})
    client.tell({state: 'reconnected', session: 'c3', newSession: true})
    client.tell({state: 'lost', session: 'c3', reason: 'no answer to pings (half-open connection)'})
    client.tell({state: 'reconnected', session: 'd4', newSession: true})
    client.tell({state: 'lost', session: 'd4', expired: true, reason: 'session expired'})
    stop()
    assert.equal(client.listeners.size, 0, 'the unsubscribe removed the listener')
    client.tell({state: 'reconnected', session: 'e5', newSession: true})
    assert.deepEqual(
      events.map((e) => `${e.state} ${e.session}${e.reason ? ` ${e.reason}` : ''}`),
      [
        'connected a1',
        'lost a1',
        'reconnected a1',
        'lost a1',
        'expired a1',
        'new-session b2',
        'lost b2',
        'new-session c3',
        'lost c3 no answer to pings (half-open connection)',
        'new-session d4',
        'lost d4',
        'expired d4',
      ],
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
