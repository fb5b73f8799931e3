import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SseParser} from '../../src/lib/client/sse-parser.js'
import {EventHub} from '../../src/lib/server/event-hub.js'

describe('SseParser', () => {
  it('completes events at a blank line, across chunk boundaries, with any line ending', () => {
    const parser = new SseParser()
    const bytes = Buffer.from('retry: 2000\r\n\r\n: ping\n\nid: a-1\nevent: change\ndata: {"x":\ndata: 1}\r\n\r\nevent: hello\rdata: hi\r\r: ping\n')
    const events = []
    for (let i = 0; i < bytes.length; i += 3) events.push(...parser.push(bytes.subarray(i, i + 3)))
    assert.deepEqual(events, [
      {event: 'change', data: '{"x":\n1}', id: 'a-1'},
      {event: 'hello', data: 'hi', id: 'a-1'}, // the last id sticks, as in the standard
    ])
  })

  it('keeps a UTF-8 character split between chunks whole', () => {
    const parser = new SseParser()
    const bytes = Buffer.from('data: é\n\n')
    assert.deepEqual([...parser.push(bytes.subarray(0, 7)), ...parser.push(bytes.subarray(7))], [{event: 'message', data: 'é'}])
  })
})

describe('EventHub', () => {
  it('delivers per env (env-less events to all) and replays what a Last-Event-ID missed', () => {
    const hub = new EventHub(3)
    const got: string[] = []
    const stop = hub.subscribe('prod', ({event}) => got.push(event.type))
    hub.publish({type: 'instance', env: 'staging', host: 'a', online: true})
    hub.publish({type: 'zookeeper', state: 'unreachable'})
    hub.publish({type: 'instance', env: 'prod', host: 'b', online: true})
    stop()
    hub.publish({type: 'instance', env: 'prod', host: 'c', online: true})
    assert.deepEqual(got, ['zookeeper', 'instance'])
    const second = `${hub.boot}-2`
    assert.deepEqual(hub.since('prod', second)?.map((s) => s.id), [`${hub.boot}-3`, `${hub.boot}-4`])
    assert.equal(hub.since('prod', `${hub.boot}-1`)?.length, 3) // 1 is just before the backlog: nothing lost (2 is env-less)
    hub.publish({type: 'instance', env: 'prod', host: 'd', online: true})
    assert.equal(hub.since('prod', `${hub.boot}-1`), null) // 2 fell out of the backlog
    assert.equal(hub.since('prod', 'other-1'), null)
  })
})
