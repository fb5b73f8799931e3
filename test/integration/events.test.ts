// The live feed GET /api/v1/events: real serve processes (embedded and ZooKeeper), the project's
// HTTP client reading the stream.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ApiClient} from '../../src/lib/client/api-client.js'
import type {SseEvent} from '../../src/lib/client/sse-parser.js'
import {StconfError} from '../../src/lib/errors.js'
import {zkPath} from '../../src/lib/zk/zk-client.js'
import {push, useAgentRig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, startServe, waitUntil, type ServeHandle} from '../helpers/cli.js'

/** One open stream: every event it received, parsed. */
function follow(client: ApiClient, env: string, lastEventId?: string) {
  const events: Array<SseEvent & {body: Record<string, unknown>}> = []
  const controller = new AbortController()
  const done = client.events(env, {lastEventId, signal: controller.signal, onEvent: (event) => events.push({...event, body: JSON.parse(event.data)})})
  const seen = (what: string, match: (e: (typeof events)[number]) => boolean) => waitUntil(what, () => events.find(match))
  return {events, done, seen, stop: () => controller.abort()}
}

const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}

describe('GET /api/v1/events (embedded store)', () => {
  let serve: ServeHandle
  let client: ApiClient
  before(async () => {
    serve = await startServe()
    client = new ApiClient({server: serve.url, token: ADMIN_TOKEN})
  })
  after(async () => serve.stop())

  it('says hello with the caller, then carries changes and their audit entries as they happen', async () => {
    const feed = follow(client, 'ev-hello')
    const hello = await feed.seen('hello', (e) => e.event === 'hello')
    assert.deepEqual(hello.body.caller, {name: 'admin', role: 'admin'})
    assert.equal(hello.body.mode, 'embedded')
    await push(serve.url, 'ev-hello', 'game/conf.ini', 'a=1\n')
    const change = await feed.seen('change event', (e) => e.event === 'change')
    assert.equal(change.body.key, 'game/conf.ini')
    assert.equal((change.body.meta as {version: number}).version, 1)
    assert.match(change.id ?? '', /^[0-9a-f]+-\d+$/)
    const audit = await feed.seen('audit event', (e) => e.event === 'audit')
    assert.equal((audit.body.entry as {action: string}).action, 'push')
    feed.stop()
    await feed.done
  })

  it('carries only its own env\'s changes', async () => {
    const feed = follow(client, 'ev-own')
    await feed.seen('hello', (e) => e.event === 'hello')
    await push(serve.url, 'ev-other', 'game/conf.ini', 'x\n')
    await push(serve.url, 'ev-own', 'game/conf.ini', 'a=1\n')
    // Events come in order: once ev-own's change is here, ev-other's would have come before it.
    await feed.seen('the change of ev-own', (e) => e.event === 'change' && e.body.env === 'ev-own')
    assert.ok(!feed.events.some((e) => e.body.env === 'ev-other'))
    feed.stop()
  })

  it('carries instance events for heartbeat agents: report, clean stop', async () => {
    const feed = follow(client, 'ev-beat')
    await feed.seen('hello', (e) => e.event === 'hello')
    const report = {host: 'gs-1', pid: 1, agentVersion: '0', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), files: [], intervalMs: 60_000}
    await fetch(`${serve.url}/api/v1/instances/ev-beat/gs-1`, {method: 'PUT', headers: auth, body: JSON.stringify(report)})
    await feed.seen('instance online', (e) => e.event === 'instance' && e.body.host === 'gs-1' && e.body.online === true)
    await fetch(`${serve.url}/api/v1/instances/ev-beat/gs-1`, {method: 'DELETE', headers: auth})
    await feed.seen('instance gone', (e) => e.event === 'instance' && e.body.host === 'gs-1' && e.body.online === false)
    feed.stop()
  })

  it('resumes from Last-Event-ID with what was missed', async () => {
    const first = follow(client, 'ev-resume')
    await first.seen('hello', (e) => e.event === 'hello') // subscribed: the push below is not missed
    await push(serve.url, 'ev-resume', 'game/resume.ini', 'v1\n')
    const last = await first.seen('change v1', (e) => e.event === 'change' && e.body.key === 'game/resume.ini')
    first.stop()
    await push(serve.url, 'ev-resume', 'game/resume.ini', 'v2\n') // while no stream is open
    const resumed = follow(client, 'ev-resume', last.id)
    const missed = await resumed.seen('missed change', (e) => e.event === 'change' && e.body.key === 'game/resume.ini')
    assert.equal((missed.body.meta as {version: number}).version, 2)
    assert.ok(!resumed.events.some((e) => e.event === 'resync'))
    resumed.stop()
  })

  it('asks for a re-read when it cannot resume from the Last-Event-ID', async () => {
    const stale = follow(client, 'ev-stale', 'deadbeef-1')
    await stale.seen('resync', (e) => e.event === 'resync')
    stale.stop()
  })

  it('is authenticated like every call', async () => {
    const wrongToken = new ApiClient({server: serve.url, token: 'wrong'})
    await assert.rejects(wrongToken.events('ev-auth', {onEvent() {}}), (error: StconfError) => error.code === 'unauthorized')
  })

  it('needs a valid env', async () => {
    await assert.rejects(client.events('', {onEvent() {}}), (error: StconfError) => error.code === 'bad-input')
    await assert.rejects(client.events('Not An Env', {onEvent() {}}), (error: StconfError) => error.code === 'bad-input')
  })

  it('ends open streams when serve stops, and the reader says so', async () => {
    const own = await startServe()
    const feed = follow(new ApiClient({server: own.url, token: ADMIN_TOKEN}), 'prod')
    await feed.seen('hello', (e) => e.event === 'hello')
    await own.stop() // would hang if the stream held serve open
    await feed.done
  })
})

describe('GET /api/v1/events (ZooKeeper)', () => {
  const rig = useAgentRig({zk: true, serve: true, client: {sessionTimeoutMs: 4000}})

  it('carries instance events from ephemeral nodes: join, new report, leave', async () => {
    const feed = follow(new ApiClient({server: rig.serve.url, token: ADMIN_TOKEN}), 'prod')
    const hello = await feed.seen('hello', (e) => e.event === 'hello')
    assert.equal(hello.body.zookeeper, 'connected')
    const path = zkPath('/stconf', 'instances', 'prod', 'gs-zk')
    await rig.client.mkdirp(zkPath('/stconf', 'instances', 'prod'))
    const report = (files: unknown[]) => Buffer.from(JSON.stringify({host: 'gs-zk', instance: 'gs-zk', pid: 1, agentVersion: '0', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), files}))
    await rig.client.create(path, report([]), true)
    await feed.seen('joined', (e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === true)
    const before = feed.events.length
    await rig.client.setData(path, report([{key: 'game/conf.ini', dest: '/x', version: 1, sha256: null, status: 'ok', appliedAt: null, error: null}]))
    await waitUntil('report event', () => feed.events.slice(before).find((e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === true))
    await rig.client.remove(path)
    await feed.seen('left', (e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === false)
    feed.stop()
  })
})
