// The API contract on its own: the zod-free wire encodings (metadata headers, header text, key paths)
// round-trip, and the schemas refuse what serve must refuse, with the one-line messages serve sends.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  check,
  contentMeta,
  diffResult,
  feedEvent,
  heartbeatRequest,
  instanceReport,
  pushAnswer,
  rollbackRequest,
  tokenCreateRequest,
  versionMeta,
  watchAnswer,
  watchRequest,
  withdrawRequest,
  type ContentMeta,
  type InstanceReport,
} from '../../src/lib/api/contract.js'
import {decodeKey, decodeText, encodeKey, encodeText, keyPath, metaFromHeaders, metaHeaders} from '../../src/lib/api/wire.js'
import {StconfError} from '../../src/lib/errors.js'
import {parseJsonBody, parseQuery} from '../../src/lib/server/json-body.js'
import {auditQuery} from '../../src/lib/api/contract.js'

const SHA = 'a'.repeat(64)
const meta = (over: Partial<ContentMeta> = {}): ContentMeta => ({version: 3, sha256: SHA, size: 4, author: 'alice', time: '2026-12-02T06:00:00.000Z', kind: 'push', ...over})

const problemOf = (schema: Parameters<typeof check>[0], value: unknown): string => {
  const checked = check(schema, value)
  assert.equal(checked.ok, false, `expected ${JSON.stringify(value)} to be refused`)
  return (checked as {problem: string}).problem
}

const report = (over: Partial<InstanceReport> = {}): InstanceReport => ({
  instance: 'gs-1',
  host: 'gs-1',
  pid: 42,
  agentVersion: '0.1.0',
  startedAt: '2026-12-02T06:00:00.000Z',
  updatedAt: '2026-12-02T06:00:01.000Z',
  files: [{key: 'game/conf.ini', dest: '/etc/game/conf.ini', version: 3, sha256: SHA, status: 'ok', appliedAt: '2026-12-02T06:00:01.000Z', error: null}],
  ...over,
})

describe('metadata headers', () => {
  it('round-trip every field of a version, whatever the kind, with UTF-8 authors', () => {
    for (const kind of ['push', 'rollback', 'out-of-band'] as const) {
      for (const author of ['alice', 'zoë ci/bot', '运维 "ops"', '']) {
        const original = meta({kind, author})
        const headers = metaHeaders(original)
        assert.equal(headers.etag, '"3"')
        // Every value must be sendable as a header: Latin-1 printable ASCII only.
        for (const value of Object.values(headers)) assert.match(value, /^[\x20-\x7e]*$/)
        assert.deepEqual(metaFromHeaders((name) => headers[name], 4), original)
        assert.equal(check(contentMeta, original).ok, true)
      }
    }
  })

  it('read the first value of a repeated header', () => {
    const headers: Record<string, string | string[]> = {...metaHeaders(meta()), 'x-stconf-version': ['3', '9']}
    assert.equal(metaFromHeaders((name) => headers[name], 4)?.version, 3)
  })

  it('are null when a header is missing or malformed (a proxy page, not serve)', () => {
    const good = metaHeaders(meta())
    const broken: Array<Record<string, string | undefined>> = [
      {},
      {...good, 'x-stconf-version': undefined},
      {...good, 'x-stconf-version': '0'},
      {...good, 'x-stconf-version': '2.5'},
      {...good, 'x-stconf-version': 'three'},
      {...good, 'x-stconf-sha256': 'abc'},
      {...good, 'x-stconf-kind': 'deploy'},
    ]
    for (const headers of broken) assert.equal(metaFromHeaders((name) => headers[name], 4), null, JSON.stringify(headers))
  })
})

describe('header text and key paths', () => {
  it('encodes text for a header and decodes it back; a value that is not valid encoding stays as it is', () => {
    for (const text of ['raise max players', 'zoë: 100% → 200%', 'line\nbreak', '']) assert.equal(decodeText(encodeText(text)), text)
    assert.equal(decodeText('100%'), '100%')
    assert.equal(decodeText(undefined), '')
    assert.equal(decodeText(['a%20b', 'c']), 'a b')
  })

  it('puts env and key in a URL path segment by segment, keeping the key\'s slashes', () => {
    assert.equal(keyPath('prod', 'game/conf.ini'), 'prod/game/conf.ini')
    assert.equal(keyPath('prod', 'game/a b/c#d?.ini'), 'prod/game/a%20b/c%23d%3F.ini')
  })

  it('makes a key one file-name-safe segment and back', () => {
    for (const key of ['game/conf.ini', 'a/b/c.d_e-f', 'x/%41']) {
      const segment = encodeKey(key)
      assert.ok(!segment.includes('/'), segment)
      assert.equal(decodeKey(segment), key)
    }
  })
})

describe('schemas', () => {
  it('accept what serve sends and what agents send', () => {
    const version = {...meta(), message: 'why'}
    assert.equal(check(versionMeta, version).ok, true)
    assert.equal(check(pushAnswer, {...version, changed: true, env: 'prod', key: 'game/conf.ini', createdEnv: true}).ok, true)
    assert.equal(check(watchAnswer, {changed: [{key: 'game/conf.ini', meta: version}, {key: 'game/gone.ini', meta: null}]}).ok, true)
    assert.equal(check(heartbeatRequest, {...report(), intervalMs: 5000}).ok, true)
    // an older agent sends no instance name and no lastChange: the route's name is the truth
    const {instance: _instance, ...older} = report()
    assert.equal(check(heartbeatRequest, {...older, intervalMs: 5000}).ok, true)
    assert.equal(check(withdrawRequest, {}).ok, true)
    assert.equal(check(feedEvent, {type: 'zookeeper', state: 'connected'}).ok, true)
    assert.equal(check(diffResult, {equal: false, from: {kind: 'center', env: 'prod', key: 'a/b', version: null}, to: {kind: 'local', path: '/tmp/b'}, patch: '-a\n+b\n'}).ok, true)
  })

  it('refuse bad bodies, naming the field and what is wrong', () => {
    assert.equal(problemOf(rollbackRequest, {to: 0}), 'to: Too small: expected number to be >0')
    assert.equal(problemOf(rollbackRequest, {to: 1.5}), 'to: Invalid input: expected int, received number')
    assert.equal(problemOf(rollbackRequest, {to: '2'}), 'to: Invalid input: expected number, received string')
    assert.equal(problemOf(rollbackRequest, {to: 2, force: true}), '(root): Unrecognized key: "force"')
    assert.equal(problemOf(rollbackRequest, {to: 2, message: 'x'.repeat(1001)}), 'message: Too big: expected string to have <=1000 characters')
    assert.equal(problemOf(tokenCreateRequest, {name: 'ci', role: 'root'}), 'role: Invalid option: expected one of "viewer"|"agent"|"operator"|"admin"')
    assert.equal(problemOf(watchRequest, {keys: {'game/conf.ini': -2}}), 'keys.game/conf.ini: Too small: expected number to be >=-1')
    assert.equal(problemOf(watchRequest, {keys: {}, timeoutMs: -1}), 'timeoutMs: Too small: expected number to be >=0')
    assert.equal(problemOf(heartbeatRequest, report()), 'intervalMs: Invalid input: expected number, received undefined')
    assert.equal(problemOf(heartbeatRequest, {...report(), intervalMs: 3_600_001}), 'intervalMs: Too big: expected number to be <=3600000')
    assert.match(problemOf(instanceReport, report({files: [{...report().files[0], status: 'fine' as 'ok'}]})), /^files\.0\.status: Invalid option/)
    assert.equal(problemOf(withdrawRequest, {report: {host: 'gs-1'}}), 'report.pid: Invalid input: expected number, received undefined')
    assert.equal(problemOf(pushAnswer, []), '(root): Invalid input: expected object, received array')
  })
})

describe('serve\'s request parsing (json-body.ts)', () => {
  const refused = (run: () => unknown): StconfError => {
    try {
      run()
    } catch (error) {
      assert.ok(error instanceof StconfError)
      return error
    }

    return assert.fail('expected a refusal')
  }

  it('refuses a body that is not JSON, or not of the schema, with one bad-input line', () => {
    const notJson = refused(() => parseJsonBody(Buffer.from('{to: 1'), rollbackRequest))
    assert.equal(notJson.code, 'bad-input')
    assert.equal(notJson.message, 'request body is not JSON')
    const wrong = refused(() => parseJsonBody(Buffer.from('{"to": 0}'), rollbackRequest))
    assert.equal(wrong.status, 400)
    assert.equal(wrong.message, 'invalid request body: to: Too small: expected number to be >0')
    assert.deepEqual(parseJsonBody(Buffer.from('{"to": 2}'), rollbackRequest), {to: 2})
  })

  it('refuses a repeated query parameter, and passes single ones on', () => {
    const repeated = refused(() => parseQuery({env: ['prod', 'dev']}, auditQuery))
    assert.equal(repeated.code, 'bad-input')
    assert.equal(repeated.message, 'invalid query parameter env: Invalid input: expected string, received array')
    assert.deepEqual(parseQuery({env: 'prod', limit: '5'}, auditQuery), {env: 'prod', limit: '5'})
    assert.deepEqual(parseQuery(undefined, auditQuery), {})
  })
})
