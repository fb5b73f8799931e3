// API tokens (src/lib/server/tokens.ts): what is stored (hashes only), the first start's admin token,
// creating and revoking, and who may do what. Agent and viewer roles, env scopes and host patterns
// are in security.test.ts.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {StconfError} from '../../src/lib/errors.js'
import type {Action} from '../../src/lib/server/center-types.js'
import {ROLES, TokenStore} from '../../src/lib/server/tokens.js'
import {tempDir} from '../helpers/cli.js'

const bearer = (token: string) => `Bearer ${token}`
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')
const ENV_TOKEN = 'env-admin-token-0123456789'

async function store(): Promise<{tokens: TokenStore; dir: string}> {
  const dir = tempDir('stconf-tokens-')
  return {tokens: await TokenStore.open(dir), dir}
}

const code = (expected: string, message?: RegExp) => (error: StconfError) => error.code === expected && (!message || message.test(error.message))

describe('TokenStore: what is stored', () => {
  it('keeps only the sha256 of a token, never the token itself', async () => {
    const {tokens, dir} = await store()
    const token = await tokens.create('ci', 'operator')
    const file = readFileSync(join(dir, 'tokens.json'), 'utf8')
    assert.ok(!file.includes(token), 'the clear token is in tokens.json')
    assert.ok(file.includes(hashOf(token)))
  })

  it('makes tokens of 192 random bits, "stc_" and base64url, never the same twice', async () => {
    const {tokens} = await store()
    const made = [await tokens.create('a', 'viewer'), await tokens.create('b', 'viewer')]
    for (const token of made) assert.match(token, /^stc_[A-Za-z0-9_-]{32}$/)
    assert.notEqual(made[0], made[1])
  })

  it('lists names, roles and creation times, never a hash', async () => {
    const {tokens} = await store()
    await tokens.create('ci', 'operator')
    const [listed] = tokens.list()
    assert.deepEqual(Object.keys(listed).sort(), ['created', 'name', 'role'])
    assert.equal(listed.name, 'ci')
    assert.ok(!Number.isNaN(Date.parse(listed.created)))
  })

  it('reads back after a restart what it wrote', async () => {
    const {tokens, dir} = await store()
    const token = await tokens.create('ci', 'operator')
    const again = await TokenStore.open(dir)
    assert.equal(again.authorize(bearer(token), 'write').name, 'ci')
  })
})

describe('TokenStore.bootstrap: the first start', () => {
  it('makes an admin token once, on an empty store, and says it (to be printed once)', async () => {
    const {tokens} = await store()
    assert.equal(tokens.empty, true)
    const token = await tokens.bootstrap()
    assert.ok(token)
    assert.equal(tokens.authorize(bearer(token), 'admin').role, 'admin')
    assert.equal(await tokens.bootstrap(), undefined, 'not on the next start')
    assert.equal(tokens.list().length, 1)
  })

  it('takes STCONF_ADMIN_TOKEN instead, printing nothing, once however often it starts', async () => {
    const {tokens} = await store()
    assert.equal(await tokens.bootstrap(ENV_TOKEN), undefined)
    await tokens.bootstrap(ENV_TOKEN)
    assert.equal(tokens.list().length, 1)
    assert.deepEqual(tokens.authorize(bearer(ENV_TOKEN), 'admin'), {name: 'admin', role: 'admin'})
  })

  it('lets a new STCONF_ADMIN_TOKEN replace the admin token of an earlier start', async () => {
    const {tokens} = await store()
    const first = (await tokens.bootstrap())!
    await tokens.bootstrap(ENV_TOKEN)
    assert.throws(() => tokens.authorize(bearer(first), 'admin'), code('unauthorized', /invalid token/))
    assert.equal(tokens.authorize(bearer(ENV_TOKEN), 'admin').name, 'admin')
  })

  it('refuses a STCONF_ADMIN_TOKEN shorter than 16 characters, and stores nothing', async () => {
    const {tokens} = await store()
    await assert.rejects(tokens.bootstrap('short'), code('bad-input', /STCONF_ADMIN_TOKEN is too short/))
    assert.equal(tokens.empty, true)
  })
})

describe('TokenStore.create', () => {
  it('refuses a name already taken (conflict), and keeps the first token working', async () => {
    const {tokens} = await store()
    const first = await tokens.create('ci', 'operator')
    await assert.rejects(tokens.create('ci', 'viewer'), code('conflict', /a token named "ci" exists already/))
    assert.equal(tokens.authorize(bearer(first), 'write').role, 'operator')
  })

  it('refuses an invalid name or role (bad input), and stores nothing', async () => {
    const {tokens} = await store()
    for (const name of ['', '-lead', 'with space', 'x'.repeat(65), 'a/b']) await assert.rejects(tokens.create(name, 'viewer'), code('bad-input', /invalid token name/), JSON.stringify(name))
    await assert.rejects(tokens.create('ci', 'root' as never), code('bad-input', /invalid role "root"/))
    assert.deepEqual(tokens.list(), [])
  })
})

describe('TokenStore.revoke', () => {
  it('makes a revoked token invalid at once', async () => {
    const {tokens} = await store()
    await tokens.bootstrap(ENV_TOKEN)
    const token = await tokens.create('ci', 'operator')
    await tokens.revoke('ci')
    assert.throws(() => tokens.authorize(bearer(token), 'read'), code('unauthorized', /invalid token/))
    assert.deepEqual(tokens.list().map((t) => t.name), ['admin'])
  })

  it('answers not-found for a name it does not have', async () => {
    const {tokens} = await store()
    await assert.rejects(tokens.revoke('nobody'), code('not-found', /no token named "nobody"/))
  })

  it('refuses to revoke the last admin token (conflict), which keeps working', async () => {
    const {tokens} = await store()
    await tokens.bootstrap(ENV_TOKEN)
    await tokens.create('ops', 'operator')
    await assert.rejects(tokens.revoke('admin'), code('conflict', /last admin token/))
    assert.equal(tokens.authorize(bearer(ENV_TOKEN), 'admin').name, 'admin')
  })

  it('revokes an admin token while another admin token remains', async () => {
    const {tokens} = await store()
    await tokens.bootstrap(ENV_TOKEN)
    const second = await tokens.create('second-admin', 'admin')
    await tokens.revoke('admin')
    assert.equal(tokens.authorize(bearer(second), 'admin').name, 'second-admin')
  })
})

describe('TokenStore.authorize', () => {
  it('answers unauthorized without a bearer token, or with one it does not know', async () => {
    const {tokens} = await store()
    await tokens.bootstrap(ENV_TOKEN)
    for (const header of [undefined, '', 'Bearer', `Basic ${ENV_TOKEN}`, ENV_TOKEN]) {
      assert.throws(() => tokens.authorize(header, 'read'), code('unauthorized', /missing token/), JSON.stringify(header))
    }

    assert.throws(() => tokens.authorize(bearer('stc_unknown'), 'read'), code('unauthorized', /invalid token/))
  })

  it('reads the scheme without regard to case', async () => {
    const {tokens} = await store()
    await tokens.bootstrap(ENV_TOKEN)
    assert.equal(tokens.authorize(`bearer ${ENV_TOKEN}`, 'read').name, 'admin')
  })

  it('allows each role exactly its actions (403 forbidden for the rest)', async () => {
    const {tokens} = await store()
    const allowed: Record<string, Action[]> = {
      viewer: ['read', 'view'],
      agent: ['read', 'report'],
      operator: ['read', 'view', 'report', 'write'],
      admin: ['read', 'view', 'report', 'write', 'admin'],
    }
    assert.deepEqual([...ROLES].sort(), Object.keys(allowed).sort())
    for (const role of ROLES) {
      const token = bearer(await tokens.create(`t-${role}`, role))
      for (const action of ['read', 'view', 'report', 'write', 'admin'] as Action[]) {
        if (allowed[role].includes(action)) assert.equal(tokens.authorize(token, action).role, role, `${role} may ${action}`)
        else assert.throws(() => tokens.authorize(token, action), (error: StconfError) => error.code === 'forbidden' && error.status === 403, `${role} may not ${action}`)
      }
    }
  })

  it('names the caller without its token or hash', async () => {
    const {tokens} = await store()
    const token = await tokens.create('ci', 'operator', {envs: ['prod']})
    assert.deepEqual(tokens.authorize(bearer(token), 'write', {env: 'prod'}), {name: 'ci', role: 'operator', envs: ['prod']})
  })
})
