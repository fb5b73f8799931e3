// The API contract (src/lib/api/contract.ts) end to end, against a real serve: every route refuses a
// malformed body or query with 400 and the JSON error body, changing nothing; every answer serve
// gives fits its schema (the client checking answers); what is not serve's answer becomes one clear
// error through the client's one error-body parser; `pull --json` and `diff --json` print contract types.
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import {type AddressInfo} from 'node:net'
import {join} from 'node:path'
import {writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {check, diffResult, errorBody, feedEvent, healthAnswer, helloEvent, pullResult} from '../../src/lib/api/contract.js'
import {ApiClient} from '../../src/lib/client/api-client.js'
import {isStconfError, type StconfError} from '../../src/lib/errors.js'
import {ADMIN_TOKEN, runCli, startServe, tempDir, type ServeHandle} from '../helpers/cli.js'

const REPORT = {
  host: 'gs-1',
  pid: 42,
  agentVersion: '0.1.0',
  startedAt: '2026-12-02T06:00:00.000Z',
  updatedAt: '2026-12-02T06:00:01.000Z',
  files: [{key: 'game/conf.ini', dest: '/etc/game/conf.ini', version: 1, sha256: null, status: 'pending' as const, appliedAt: null, error: null}],
}

describe('the API contract against a real serve', () => {
  let serve: ServeHandle
  const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}
  const call = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${serve.url}${path}`, {method, headers: {...auth, ...(body === undefined ? {} : {'content-type': 'application/json'}), ...headers}, body})

  before(async () => {
    serve = await startServe()
  })
  after(async () => serve.stop())

  /** 400 with exactly the error body of the contract, whose message is `message`. */
  const assertRefused = async (response: Response, message: string | RegExp) => {
    assert.equal(response.status, 400)
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
    const body = (await response.json()) as unknown
    const checked = check(errorBody, body)
    assert.ok(checked.ok, JSON.stringify(body))
    assert.deepEqual(Object.keys(body as object).filter((k) => !['error', 'message', 'hint'].includes(k)), [])
    assert.equal(checked.value.error, 'bad-input')
    if (typeof message === 'string') assert.equal(checked.value.message, message)
    else assert.match(checked.value.message, message)
  }

  describe('a malformed body or query is refused with 400 and the JSON error body, and changes nothing', () => {
    it('rollback', async () => {
      await call('PUT', '/api/v1/config/bodies/game/conf.ini', 'k=1\n')
      await assertRefused(await call('POST', '/api/v1/rollback/bodies/game/conf.ini', '{"to": "1"}'), 'invalid request body: to: Invalid input: expected number, received string')
      await assertRefused(await call('POST', '/api/v1/rollback/bodies/game/conf.ini', '{"to": 1, "force": true}'), 'invalid request body: (root): Unrecognized key: "force"')
      await assertRefused(await call('POST', '/api/v1/rollback/bodies/game/conf.ini', 'to=1'), 'request body is not JSON')
      const history = (await (await call('GET', '/api/v1/history/bodies/game/conf.ini')).json()) as {versions: unknown[]}
      assert.equal(history.versions.length, 1)
    })

    it('token create', async () => {
      await assertRefused(await call('POST', '/api/v1/tokens', '{"name": "ci-bad", "role": "root"}'), /^invalid request body: role: Invalid option/)
      await assertRefused(await call('POST', '/api/v1/tokens', '{"name": "ci-bad", "role": "viewer", "envs": "prod"}'), 'invalid request body: envs: Invalid input: expected array, received string')
      const tokens = (await (await call('GET', '/api/v1/tokens')).json()) as {tokens: Array<{name: string}>}
      assert.ok(!tokens.tokens.some((t) => t.name === 'ci-bad'))
    })

    it('watch', async () => {
      await assertRefused(await call('POST', '/api/v1/watch/bodies', '{"keys": {"game/conf.ini": "3"}}'), 'invalid request body: keys.game/conf.ini: Invalid input: expected number, received string')
      await assertRefused(await call('POST', '/api/v1/watch/bodies', '{"keys": {"game/conf.ini": -2}}'), 'invalid request body: keys.game/conf.ini: Too small: expected number to be >=-1')
    })

    it('heartbeat and withdraw', async () => {
      await assertRefused(await call('PUT', '/api/v1/instances/bodies/gs-1', JSON.stringify(REPORT)), 'invalid request body: intervalMs: Invalid input: expected number, received undefined')
      await assertRefused(await call('PUT', '/api/v1/instances/bodies/gs-1', JSON.stringify({...REPORT, intervalMs: 5000, files: [{...REPORT.files[0], status: 'fine'}]})), /^invalid request body: files\.0\.status: Invalid option/)
      await assertRefused(await call('DELETE', '/api/v1/instances/bodies/gs-1', '{"report": {"host": "gs-1"}}'), 'invalid request body: report.pid: Invalid input: expected number, received undefined')
      const instances = (await (await call('GET', '/api/v1/instances/bodies')).json()) as {instances: unknown[]}
      assert.deepEqual(instances.instances, [])
    })

    it('a repeated query parameter', async () => {
      await assertRefused(await call('GET', '/api/v1/audit?env=bodies&env=prod'), 'invalid query parameter env: Invalid input: expected string, received array')
      await assertRefused(await call('GET', '/api/v1/config/bodies/game/conf.ini?version=1&version=2'), 'invalid query parameter version: Invalid input: expected string, received array')
      await assertRefused(await call('GET', '/api/v1/history/bodies/game/conf.ini?limit=1&limit=2'), /^invalid query parameter limit/)
      // the audit filters keep their own message for a parameter that is no filter
      await assertRefused(await call('GET', '/api/v1/audit?user=alice'), 'unknown audit filter "user"')
    })
  })

  it('every answer serve gives fits the contract (the client checking each one)', async () => {
    const client = new ApiClient({server: serve.url, token: ADMIN_TOKEN, checkAnswers: true})
    const first = await client.push('answers', 'game/conf.ini', Buffer.from('players=10\n'), 'first, by zoë')
    assert.equal(first.changed, true)
    assert.equal(first.createdEnv, true)
    await client.push('answers', 'game/conf.ini', Buffer.from('players=20\n'), 'second')
    const got = await client.getConfig('answers', 'game/conf.ini', 1)
    assert.deepEqual(got.meta, {version: 1, sha256: first.sha256, size: 11, author: 'admin', time: first.time, kind: 'push'})
    assert.equal((await client.history('answers', 'game/conf.ini')).length, 2)
    assert.equal((await client.rollback('answers', 'game/conf.ini', 1, 'back')).kind, 'rollback')
    assert.deepEqual((await client.keys('answers')).map((k) => k.key), ['game/conf.ini'])
    assert.ok((await client.envs()).some((e) => e.env === 'answers' && e.keys === 1))
    assert.ok((await client.audit({env: 'answers'})).some((e) => e.action === 'rollback'))
    const created = await client.createToken('contract-viewer', 'viewer', {envs: ['answers']})
    assert.deepEqual(created.envs, ['answers'])
    assert.ok((await client.listTokens()).some((t) => t.name === 'contract-viewer'))
    await client.revokeToken('contract-viewer')

    // the agent's side: watch, heartbeat, withdraw; then the operator's: instances, rollout, forget
    const changed = await client.watch('answers', {'game/conf.ini': -1, 'game/none.ini': -1}, 0)
    assert.deepEqual(changed.map((c) => [c.key, c.meta?.version ?? null]).sort(), [['game/conf.ini', 3], ['game/none.ini', null]])
    await client.heartbeat('answers', 'gs-1@game', {...REPORT, files: [{...REPORT.files[0], version: 3}], intervalMs: 60_000})
    const [instance] = await client.instances('answers')
    assert.equal(instance.instance, 'gs-1@game')
    assert.equal(instance.state, 'pending')
    assert.equal((await client.rollout('answers', 'game/conf.ini', 3, undefined, 0)).receipts[0].status, 'pending')
    assert.equal(await client.withdraw('answers', 'gs-1@game', undefined), true)
    assert.deepEqual(await client.forget('answers', 'gs-1@game'), {forgotten: 'gs-1@game', env: 'answers'})

    const health = check(healthAnswer, await (await fetch(`${serve.url}/healthz`)).json())
    assert.ok(health.ok && health.value.mode === 'embedded')

    // the live feed: hello, then a change
    const controller = new AbortController()
    const seen: Array<{event: string; data: unknown}> = []
    const done = client.events('answers', {
      signal: controller.signal,
      onEvent(event) {
        seen.push({event: event.event, data: JSON.parse(event.data)})
        if (event.event === 'hello') void client.push('answers', 'game/conf.ini', Buffer.from('players=30\n'), 'live')
        if (event.event === 'change') controller.abort()
      },
    })
    await done
    assert.ok(check(helloEvent, seen.find((e) => e.event === 'hello')?.data).ok)
    const change = check(feedEvent, seen.find((e) => e.event === 'change')?.data)
    assert.ok(change.ok && change.value.type === 'change' && change.value.meta.version === 4)
  })

  it('serve\'s errors become the StconfError they describe, for the CLI and the agent alike', async () => {
    const client = new ApiClient({server: serve.url, token: ADMIN_TOKEN})
    const error = await client.getConfig('answers', 'game/missing.ini').catch((e: unknown) => e as StconfError)
    assert.ok(isStconfError(error))
    assert.equal(error.code, 'not-found')
    assert.equal(error.message, 'no key game/missing.ini in env answers')
    assert.equal(error.hint, 'see `stconf ls --env answers`')
  })

  it('pull --json prints the version pulled and the file written; with -o - it refuses', async () => {
    const cwd = tempDir()
    await call('PUT', '/api/v1/config/cli/game/conf.ini', 'k=1\n')
    const env = {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'cli'}
    const pulled = await runCli(['pull', 'game/conf.ini', '--json'], {cwd, env})
    assert.equal(pulled.code, 0, pulled.stderr)
    const answer = check(pullResult, JSON.parse(pulled.stdout))
    assert.ok(answer.ok, pulled.stdout)
    assert.equal(answer.value.path, join(cwd, 'game', 'conf.ini'))
    assert.equal(answer.value.version, 1)
    assert.equal(answer.value.size, 4)

    const toStdout = await runCli(['pull', 'game/conf.ini', '-o', '-', '--json'], {cwd, env})
    assert.equal(toStdout.code, 2)
    assert.equal(toStdout.stdout, '')
    assert.match(toStdout.stderr, /^stconf: pull --json prints its answer on stdout, so the content cannot go there too - /)
  })

  it('diff --json prints both sides and the patch, and exits 1 when they differ', async () => {
    const cwd = tempDir()
    await call('PUT', '/api/v1/config/cli/game/diff.ini', 'k=1\n')
    writeFileSync(join(cwd, 'local.ini'), 'k=2\n')
    const env = {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'cli'}
    const different = await runCli(['diff', 'game/diff.ini', '--file', 'local.ini', '--json'], {cwd, env})
    assert.equal(different.code, 1, different.stderr)
    const answer = check(diffResult, JSON.parse(different.stdout))
    assert.ok(answer.ok, different.stdout)
    assert.equal(answer.value.equal, false)
    assert.deepEqual(answer.value.from, {kind: 'center', env: 'cli', key: 'game/diff.ini', version: 1})
    assert.deepEqual(answer.value.to, {kind: 'local', path: join(cwd, 'local.ini')})
    assert.match(answer.value.patch, /^-k=1$/m)
    assert.match(answer.value.patch, /^\+k=2$/m)

    const equal = await runCli(['diff', 'game/diff.ini', '--against-env', 'nowhere', '--json'], {cwd, env})
    assert.equal(equal.code, 3, 'an env that never had a key is a typo')
    const versions = await runCli(['diff', 'game/diff.ini', '--from', '1', '--to', '1', '--json'], {cwd, env})
    assert.equal(versions.code, 0, versions.stderr)
    assert.deepEqual(JSON.parse(versions.stdout), {equal: true, patch: '', from: {kind: 'center', env: 'cli', key: 'game/diff.ini', version: 1}, to: {kind: 'center', env: 'cli', key: 'game/diff.ini', version: 1}})
  })
})

describe('answers that are not serve\'s', () => {
  let server: Server
  let url: string
  let answer: {status: number; type: string; body: string}
  before(async () => {
    server = createServer((_request, response) => response.writeHead(answer.status, {'content-type': answer.type}).end(answer.body))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const failure = async (client: ApiClient, run: (client: ApiClient) => Promise<unknown>): Promise<StconfError> => {
    const error = await run(client).then(() => assert.fail('expected a failure'), (e: unknown) => e)
    assert.ok(isStconfError(error), String(error))
    return error
  }

  it('a proxy\'s error page becomes "answered HTTP <status>" with its first characters, a bug (exit 1) for 5xx', async () => {
    answer = {status: 502, type: 'text/html', body: '<html>Bad Gateway</html>'}
    const error = await failure(new ApiClient({server: url}), (c) => c.keys('prod'))
    assert.equal(error.code, 'internal')
    assert.equal(error.exitCode, 1)
    assert.equal(error.message, `${url} answered HTTP 502 <html>Bad Gateway</html>`)
    answer = {status: 401, type: 'text/plain', body: 'go away'}
    assert.equal((await failure(new ApiClient({server: url}), (c) => c.keys('prod'))).code, 'unauthorized')
  })

  it('a 200 that is not JSON, or (when checking) not of the contract, is one line naming the route and the problem', async () => {
    answer = {status: 200, type: 'text/html', body: '<html>login</html>'}
    const notJson = await failure(new ApiClient({server: url}), (c) => c.keys('prod'))
    assert.equal(notJson.message, `${url} answered GET /api/v1/keys/prod with something this stconf does not understand (it is not JSON)`)
    answer = {status: 200, type: 'application/json', body: '{"env": "prod", "keys": [{"key": "game/conf.ini", "version": "3"}]}'}
    const wrong = await failure(new ApiClient({server: url, checkAnswers: true}), (c) => c.keys('prod'))
    assert.equal(wrong.code, 'internal')
    assert.equal(wrong.message, `${url} answered GET /api/v1/keys/prod with something this stconf does not understand (keys.0.version: Invalid input: expected number, received string)`)
    assert.equal(wrong.hint, 'are serve and this stconf the same version?')
    answer = {status: 200, type: 'application/octet-stream', body: 'k=v\n'}
    const noHeaders = await failure(new ApiClient({server: url}), (c) => c.getConfig('prod', 'game/conf.ini'))
    assert.match(noHeaders.message, /answered GET \/api\/v1\/config\/prod\/game\/conf\.ini with something this stconf does not understand \(its version headers are missing or malformed\)$/)
  })
})
