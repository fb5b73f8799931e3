// The feed `stconf tui` opens before it imports Ink (src/tui/feed.ts, EarlyFeed), against a scripted
// client: the event stream is opened before anything is read, the snapshot only after serve's hello,
// and what arrives while the snapshot is read is applied after it, so nothing between the two is lost.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {ApiClient, AuditEntry, KeyEntry} from '../../src/lib/client/api-client.js'
import type {SseEvent} from '../../src/lib/client/sse-parser.js'
import {StconfError} from '../../src/lib/errors.js'
import type {VersionMeta} from '../../src/lib/model.js'
import {EarlyFeed} from '../../src/tui/feed.js'
import {initialState, reducer, type Action} from '../../src/tui/state.js'

const meta = (version: number): VersionMeta => ({version, sha256: `sha${version}`, size: 1, author: 'alice', message: '', time: '2026-12-01T10:00:00.000Z', kind: 'push'})
const hello = {env: 'prod', mode: 'embedded', zookeeper: null, caller: {name: 'admin', role: 'admin'}, boot: 'b1'}

/** A client whose answers the test releases by hand; `calls` is what was asked, in order. */
function scripted(streamError?: Error) {
  const calls: string[] = []
  let send!: (event: SseEvent) => void
  let answerKeys!: (keys: KeyEntry[]) => void
  const client = {
    server: 'http://center',
    events(_env: string, {onEvent, signal}: {onEvent(event: SseEvent): void; signal?: AbortSignal}) {
      calls.push('events')
      if (streamError) return Promise.reject(streamError)
      send = onEvent
      return new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()))
    },
    keys() {
      calls.push('keys')
      return new Promise<KeyEntry[]>((resolve) => (answerKeys = resolve))
    },
    async instances() {
      calls.push('instances')
      return []
    },
    async audit(): Promise<AuditEntry[]> {
      calls.push('audit')
      return []
    },
    async history(_env: string, key: string) {
      calls.push(`history ${key}`)
      return [meta(1)]
    },
  }
  const event = (name: string, data: unknown) => send({event: name, data: JSON.stringify(data)})
  return {client: client as unknown as ApiClient, calls, event, answerKeys: (keys: KeyEntry[]) => answerKeys(keys)}
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('the feed opened before the screen', () => {
  it('opens the event stream first, reads after hello, and applies a change that came during the read after it', async () => {
    const {client, calls, event, answerKeys} = scripted()
    const feed = new EarlyFeed(client, 'prod')
    await tick()
    assert.deepEqual(calls, ['events'], 'nothing is read before the stream is open')
    event('hello', hello)
    await tick()
    assert.deepEqual(calls, ['events', 'keys', 'instances', 'audit'])
    // committed after serve read the keys, before the answer arrived: the stream carries it
    event('change', {type: 'change', env: 'prod', key: 'a.ini', meta: meta(2)})
    answerKeys([{key: 'a.ini', ...meta(1)}, {key: 'b.ini', ...meta(1)}])
    const keys = await feed.ready
    assert.equal(keys.length, 2)
    assert.equal(calls.at(-1), 'history a.ini', "the first key's versions are read before the screen opens")
    const state = feed.take().reduce(reducer, initialState(client.server, 'prod'))
    assert.deepEqual(state.keys.map((k) => `${k.key}@${k.version}`), ['a.ini@2', 'b.ini@1'])
    assert.equal(state.connection, 'live')
    assert.equal(state.history?.key, 'a.ini')

    const later: Action[] = []
    feed.attach((action) => later.push(action))
    event('audit', {type: 'audit', entry: {time: '2026-12-01T10:02:00Z', actor: 'bob', action: 'push', env: 'prod', key: 'b.ini'}})
    assert.deepEqual(later.map((a) => a.type), ['audit'], 'once attached, events go to the dashboard')
    assert.equal(feed.available('prod'), false, 'taken once')
    feed.stop()
  })

  it('settles with the error that ended the first connection (a refused token: one line before any screen)', async () => {
    const refused = new StconfError('unauthorized', 'invalid token')
    const {client} = scripted(refused)
    const feed = new EarlyFeed(client, 'prod')
    await assert.rejects(feed.ready, refused)
    feed.stop()
  })
})
