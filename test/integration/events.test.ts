// The live feed GET /api/v1/events: real serve processes (embedded and ZooKeeper), the project's
// HTTP client reading the stream.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ApiClient} from '../../src/lib/client/api-client.js'
import type {SseEvent} from '../../src/lib/client/sse-parser.js'
import {StconfError} from '../../src/lib/errors.js'
import {zkPath, type ZkClient} from '../../src/lib/zk/zk-client.js'
import {push} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, startServe, waitUntil, type ServeHandle} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

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
    const feed = follow(client, 'prod')
    const hello = await feed.seen('hello', (e) => e.event === 'hello')
    assert.deepEqual(hello.body.caller, {name: 'admin', role: 'admin'})
    assert.equal(hello.body.mode, 'embedded')
    await push(serve.url, 'prod', 'game/conf.ini', 'a=1\n')
    const change = await feed.seen('change event', (e) => e.event === 'change')
    assert.equal(change.body.key, 'game/conf.ini')
    assert.equal((change.body.meta as {version: number}).version, 1)
    assert.match(change.id ?? '', /^[0-9a-f]+-\d+$/)
    const audit = await feed.seen('audit event', (e) => e.event === 'audit')
    assert.equal((audit.body.entry as {action: string}).action, 'push')
    // another env's change is not ours
    await fetch(`${serve.url}/api/v1/config/staging/game/conf.ini`, {method: 'PUT', headers: auth, body: 'x\n'})
    await push(serve.url, 'prod', 'game/conf.ini', 'a=2\n')
    await feed.seen('second change', (e) => e.event === 'change' && (e.body.meta as {version: number}).version === 2)
    assert.ok(!feed.events.some((e) => e.body.env === 'staging'))
    feed.stop()
    await feed.done
  })

  it('carries instance events for heartbeat agents: report, clean stop', async () => {
    const feed = follow(client, 'prod')
    await feed.seen('hello', (e) => e.event === 'hello')
    const report = {host: 'gs-1', pid: 1, agentVersion: '0', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), files: [], intervalMs: 60_000}
    await fetch(`${serve.url}/api/v1/instances/prod/gs-1`, {method: 'PUT', headers: auth, body: JSON.stringify(report)})
    await feed.seen('instance online', (e) => e.event === 'instance' && e.body.host === 'gs-1' && e.body.online === true)
    await fetch(`${serve.url}/api/v1/instances/prod/gs-1`, {method: 'DELETE', headers: auth})
    await feed.seen('instance gone', (e) => e.event === 'instance' && e.body.host === 'gs-1' && e.body.online === false)
    feed.stop()
  })

  it('resumes from Last-Event-ID with what was missed, and asks for a re-read when it cannot', async () => {
    const first = follow(client, 'prod')
    await push(serve.url, 'prod', 'game/resume.ini', 'v1\n')
    const last = await first.seen('change v1', (e) => e.event === 'change' && e.body.key === 'game/resume.ini')
    first.stop()
    await push(serve.url, 'prod', 'game/resume.ini', 'v2\n') // while no stream is open
    const resumed = follow(client, 'prod', last.id)
    const missed = await resumed.seen('missed change', (e) => e.event === 'change' && e.body.key === 'game/resume.ini')
    assert.equal((missed.body.meta as {version: number}).version, 2)
    assert.ok(!resumed.events.some((e) => e.event === 'resync'))
    resumed.stop()

    const stale = follow(client, 'prod', 'deadbeef-1')
    await stale.seen('resync', (e) => e.event === 'resync')
    stale.stop()
  })

  it('is authenticated like every call, and needs an env', async () => {
    await push(serve.url, 'prod', 'game/conf.ini', 'a=1\n')
    await push(serve.url, 'staging', 'game/conf.ini', 'x\n')
    const noToken = new ApiClient({server: serve.url, token: 'wrong'})
    await assert.rejects(noToken.events('prod', {onEvent() {}}), (error: StconfError) => error.code === 'unauthorized')
    await assert.rejects(client.events('', {onEvent() {}}), (error: StconfError) => error.code === 'bad-input')
    await assert.rejects(client.events('Not An Env', {onEvent() {}}), (error: StconfError) => error.code === 'bad-input')
    assert.deepEqual((await client.envs()).map((e) => e.env), ['prod', 'staging'])
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
  let zkServer: TestZk
  let serve: ServeHandle
  let agentZk: ZkClient
  before(async () => {
    zkServer = await startZk()
    serve = await startServe({zk: zkServer.connect, zkSessionTimeoutMs: 4000})
    agentZk = await connectZk(zkServer, {sessionTimeoutMs: 4000})
  })
  after(async () => {
    agentZk.close()
    await serve.stop()
    await zkServer.destroy()
  })

  it('carries instance events from ephemeral nodes: join, new report, leave', async () => {
    const feed = follow(new ApiClient({server: serve.url, token: ADMIN_TOKEN}), 'prod')
    const hello = await feed.seen('hello', (e) => e.event === 'hello')
    assert.equal(hello.body.zookeeper, 'connected')
    const path = zkPath('/stconf', 'instances', 'prod', 'gs-zk')
    await agentZk.mkdirp(zkPath('/stconf', 'instances', 'prod'))
    const report = (files: unknown[]) => Buffer.from(JSON.stringify({host: 'gs-zk', instance: 'gs-zk', pid: 1, agentVersion: '0', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), files}))
    await agentZk.create(path, report([]), true)
    await feed.seen('joined', (e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === true)
    const before = feed.events.length
    await agentZk.setData(path, report([{key: 'game/conf.ini', dest: '/x', version: 1, sha256: null, status: 'ok', appliedAt: null, error: null}]))
    await waitUntil('report event', () => feed.events.slice(before).find((e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === true))
    await agentZk.remove(path)
    await feed.seen('left', (e) => e.event === 'instance' && e.body.host === 'gs-zk' && e.body.online === false)
    feed.stop()
  })
})
