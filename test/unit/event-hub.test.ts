// serve's live feed hub (src/lib/server/event-hub.ts): who hears which event, the ids a client resumes
// from, what it missed, and when it must re-read instead; and the audit log that publishes to it.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {VersionMeta} from '../../src/lib/model.js'
import {EventHub, publishAuditTo, type FeedEvent, type StampedEvent} from '../../src/lib/server/event-hub.js'

const meta = (version: number): VersionMeta => ({version, sha256: 'a'.repeat(64), size: 1, author: 'ci', message: '', time: '2026-01-01T00:00:00.000Z', kind: 'push'})
const change = (env: string, version = 1): FeedEvent => ({type: 'change', env, key: 'game/conf.ini', meta: meta(version)})

function listen(hub: EventHub, env: string) {
  const heard: StampedEvent[] = []
  const stop = hub.subscribe(env, (stamped) => heard.push(stamped))
  return {heard, stop}
}

describe('EventHub: publish and subscribe', () => {
  it('stamps events "<boot>-<seq>", the sequence rising by one', () => {
    const hub = new EventHub()
    const prod = listen(hub, 'prod')
    hub.publish(change('prod', 1))
    hub.publish(change('prod', 2))
    assert.match(hub.boot, /^[0-9a-f]{8}$/)
    assert.deepEqual(prod.heard.map((s) => s.id), [`${hub.boot}-1`, `${hub.boot}-2`])
  })

  it('gives two hubs (two serve processes) different boots', () => {
    assert.notEqual(new EventHub().boot, new EventHub().boot)
  })

  it('delivers an env\'s events to that env\'s subscribers only', () => {
    const hub = new EventHub()
    const prod = listen(hub, 'prod')
    const staging = listen(hub, 'staging')
    hub.publish(change('staging'))
    assert.deepEqual(prod.heard, [])
    assert.equal(staging.heard.length, 1)
  })

  it('delivers an event without an env (a token audit entry, ZooKeeper\'s state) to every env', () => {
    const hub = new EventHub()
    const prod = listen(hub, 'prod')
    const staging = listen(hub, 'staging')
    hub.publish({type: 'zookeeper', state: 'unreachable'})
    assert.equal(prod.heard.length, 1)
    assert.equal(staging.heard.length, 1)
  })

  it('stops delivering once unsubscribed, and counts subscribers per env', () => {
    const hub = new EventHub()
    const first = listen(hub, 'prod')
    const second = listen(hub, 'prod')
    assert.equal(hub.subscribers('prod'), 2)
    first.stop()
    assert.equal(hub.subscribers('prod'), 1)
    hub.publish(change('prod'))
    assert.equal(first.heard.length, 0)
    assert.equal(second.heard.length, 1)
    second.stop()
    assert.equal(hub.subscribers('prod'), 0)
  })
})

describe('EventHub.since: resuming from Last-Event-ID', () => {
  it('returns what the env missed after the id, in order, env-less events included', () => {
    const hub = new EventHub()
    hub.publish(change('prod', 1))
    hub.publish(change('staging', 1))
    hub.publish({type: 'zookeeper', state: 'connected'})
    hub.publish(change('prod', 2))
    const missed = hub.since('prod', `${hub.boot}-1`)
    assert.deepEqual(missed?.map((s) => s.id), [`${hub.boot}-3`, `${hub.boot}-4`])
  })

  it('returns nothing when the client saw the last event', () => {
    const hub = new EventHub()
    hub.publish(change('prod'))
    assert.deepEqual(hub.since('prod', `${hub.boot}-1`), [])
  })

  it('answers null (re-read) for an id of another boot, from the future, or not an id at all', () => {
    const hub = new EventHub()
    hub.publish(change('prod'))
    assert.equal(hub.since('prod', `${new EventHub().boot}-1`), null, 'another serve process')
    assert.equal(hub.since('prod', `${hub.boot}-2`), null, 'newer than anything published')
    for (const id of ['', 'garbage', `${hub.boot}-x`, `${hub.boot}-1.5`]) assert.equal(hub.since('prod', id), null, JSON.stringify(id))
  })

  it('answers null once the backlog no longer reaches back to the id, and what is left while it does', () => {
    const hub = new EventHub(3)
    for (let version = 1; version <= 5; version++) hub.publish(change('prod', version))
    // Kept: 3, 4, 5. After 2 the client missed 3..5, all still there; after 1 it missed 2, gone.
    assert.deepEqual(hub.since('prod', `${hub.boot}-2`)?.map((s) => (s.event as {meta: VersionMeta}).meta.version), [3, 4, 5])
    assert.equal(hub.since('prod', `${hub.boot}-1`), null)
  })

  it('lets a client that connected before any event resume from "<boot>-0"', () => {
    const hub = new EventHub()
    assert.deepEqual(hub.since('prod', `${hub.boot}-0`), [])
    hub.publish(change('prod'))
    assert.equal(hub.since('prod', `${hub.boot}-0`)?.length, 1)
  })
})

describe('publishAuditTo', () => {
  it('publishes each recorded entry with the time the log gave it, and returns the log\'s answer', async () => {
    const hub = new EventHub()
    const all = listen(hub, 'prod')
    const stored: unknown[] = []
    const log = publishAuditTo(hub, {
      async record(entry: {actor: string; action: string; env?: string}) {
        stored.push(entry)
        return {time: '2026-02-03T04:05:06.000Z', ...entry}
      },
    })
    const answer = await log.record({actor: 'alice', action: 'push', env: 'prod'})
    assert.deepEqual(answer, {time: '2026-02-03T04:05:06.000Z', actor: 'alice', action: 'push', env: 'prod'})
    assert.equal(stored.length, 1, 'the entry is still stored')
    assert.deepEqual(all.heard.map((s) => s.event), [{type: 'audit', env: 'prod', entry: {time: '2026-02-03T04:05:06.000Z', actor: 'alice', action: 'push', env: 'prod'}}])
  })

  it('stamps the time itself when the log answers without one, and publishes nothing when recording fails', async () => {
    const hub = new EventHub()
    const all = listen(hub, 'prod')
    let fail = false
    const log = publishAuditTo(hub, {
      async record(entry: {actor: string; action: string; env?: string}) {
        if (fail) throw new Error(`disk full: ${entry.action} not recorded`)
      },
    })
    await log.record({actor: 'bob', action: 'token-create'})
    const event = all.heard[0]?.event as {type: string; entry: {time: string}}
    assert.equal(event.type, 'audit')
    assert.ok(!Number.isNaN(Date.parse(event.entry.time)), event.entry.time)
    fail = true
    await assert.rejects(log.record({actor: 'bob', action: 'push', env: 'prod'}), /disk full/)
    assert.equal(all.heard.length, 1)
  })
})
