// The pure parts of issue 20: the ACL of each path, the refusal throttle, token roles and scopes.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {parseAgentConfig} from '../../src/lib/agent/config.js'
import {RefusalLog, REFUSAL_REPEAT_MS} from '../../src/lib/agent/refusals.js'
import type {Logger} from '../../src/lib/agent/types.js'
import {StconfError, unavailable} from '../../src/lib/errors.js'
import {matchesHost, TokenStore} from '../../src/lib/server/tokens.js'
import {digestId, PERMS, policyFromAcl, sameAcl, ZkLayout, type AclPolicy} from '../../src/lib/zk/layout.js'

const layout = new ZkLayout('/stconf')
const writer = digestId('stconf:w-secret')
const machine = digestId('stconf-agents:m-secret')
const world = (perms: number) => ({perms, scheme: 'world', id: 'anyone'})
const digest = (id: string, perms: number) => ({perms, scheme: 'digest', id})

describe('the ACL of each path (src/lib/zk/layout.ts)', () => {
  const open: AclPolicy = {writer, machine, closed: false}
  const closed: AclPolicy = {writer, machine, closed: true}

  it('computes ZooKeeper digest ids as zkCli prints them (user:base64 sha1 of user:password)', () => {
    // What `java -cp zookeeper.jar org.apache.zookeeper.server.auth.DigestAuthenticationProvider super:secret` prints.
    assert.equal(digestId('super:secret'), 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=')
  })

  it('keeps config, meta, hosts and canary writable by serve alone; the world or (closed) the machine reads', () => {
    for (const path of ['/stconf', '/stconf/config/prod/game/conf.ini', '/stconf/meta/prod/game/conf.ini', '/stconf/hosts/prod/gs-1/game/conf.ini', '/stconf/canary']) {
      assert.ok(sameAcl(layout.aclFor(path, open), [digest(writer, PERMS.all), world(PERMS.read)]), path)
      assert.ok(sameAcl(layout.aclFor(path, closed), [digest(writer, PERMS.all), digest(machine, PERMS.read)]), path)
    }
  })

  it('lets the machine identity create and delete children of instances/<env> and elections/<env>, and own what it made', () => {
    for (const dir of ['/stconf/instances/prod', '/stconf/elections/prod']) {
      assert.ok(sameAcl(layout.aclFor(dir, open), [digest(writer, PERMS.all), world(PERMS.read), digest(machine, PERMS.read | PERMS.create | PERMS.delete)]))
      const below = layout.aclFor(`${dir}/gs-1`, closed)
      assert.ok(sameAcl(below, [digest(machine, PERMS.all)]), JSON.stringify(below))
      assert.ok(sameAcl(layout.aclFor(`${dir}/gs-1`, open), [digest(machine, PERMS.all), world(PERMS.read)]))
    }

    // The directories themselves are serve's: a machine may not add envs.
    assert.ok(sameAcl(layout.aclFor('/stconf/instances', open), [digest(writer, PERMS.all), world(PERMS.read)]))
  })

  it('is open to all without a writer identity (no --zk-auth)', () => {
    assert.ok(sameAcl(layout.aclFor('/stconf/config/prod/a/b', {closed: false}), [world(PERMS.all)]))
  })

  it('gives an agent the same ACL for its report as serve would, from the ACL serve put on instances/<env>', () => {
    for (const policy of [open, closed, {closed: false}]) {
      // ZooKeeper shows digests to a client without ADMIN as user:x; the agent knows only its own identity.
      const seen = layout.aclFor('/stconf/instances/prod', policy).map((entry) => ({...entry, id: entry.id.replace(/:.*/, ':x')}))
      const learned = policyFromAcl(seen, policy.machine)
      const report = '/stconf/instances/prod/gs-1'
      assert.ok(sameAcl(layout.aclFor(report, learned), layout.aclFor(report, policy)), JSON.stringify(policy))
    }
  })
})

describe('the refusal log (src/lib/agent/refusals.ts)', () => {
  function recorder(): {logger: Logger; lines: Array<{level: string; message: string}>} {
    const lines: Array<{level: string; message: string}> = []
    const push = (level: string) => (message: string) => lines.push({level, message})
    return {logger: {info: push('info'), warn: push('warn'), error: push('error')}, lines}
  }

  it('logs one line per kind, at most every 5 minutes while it lasts, and once more after it ended and came back', () => {
    let now = 1_000_000
    const {logger, lines} = recorder()
    const log = new RefusalLog(logger, () => now)
    const refused = new StconfError('forbidden', 'ZooKeeper refused this agent\'s instance report', 'set zkAuth')
    for (let i = 0; i < 50; i++) {
      assert.equal(log.note('report', refused), true)
      now += 1000 // a retry every second for 50 s
    }

    assert.deepEqual(lines, [{level: 'error', message: 'ZooKeeper refused this agent\'s instance report - set zkAuth'}])
    log.note('read', new StconfError('unauthorized', 'serve refused this agent\'s watch', 'set token'))
    assert.equal(lines.length, 2, 'another kind has its own line')
    now += REFUSAL_REPEAT_MS - 50_000
    log.note('report', refused)
    assert.equal(lines.length, 3, 'repeated after 5 minutes')
    log.accepted('report')
    assert.equal(lines.at(-1)?.level, 'info')
    now += 1000
    log.note('report', refused)
    assert.equal(lines.length, 5, 'a new refusal after it was accepted is logged at once')
    assert.deepEqual([...log.seen.keys()].sort(), ['read', 'report'])
  })

  it('leaves errors that are not refusals (an unreachable center) to the caller', () => {
    const {logger, lines} = recorder()
    assert.equal(new RefusalLog(logger).note('read', unavailable('down')), false)
    assert.equal(lines.length, 0)
  })
})

describe('the agent config: zkAuth', () => {
  const base = 'source: zk://zk1:2181/stconf\nenv: prod\ncacheDir: /var/lib/stconf\nfiles:\n  - {key: game/conf.ini, dest: /etc/game/conf.ini}\n'

  it('takes zkAuth from the file, else from STCONF_ZK_AUTH', () => {
    assert.equal(parseAgentConfig(`${base}zkAuth: a:b\n`, 'agent.yml', {STCONF_ZK_AUTH: 'c:d'}).zkAuth, 'a:b')
    assert.equal(parseAgentConfig(base, 'agent.yml', {STCONF_ZK_AUTH: 'c:d'}).zkAuth, 'c:d')
    assert.equal(parseAgentConfig(base, 'agent.yml', {}).zkAuth, undefined)
  })

  it('refuses a zkAuth that is not user:password, and one on an http source', () => {
    assert.throws(() => parseAgentConfig(`${base}zkAuth: nopassword\n`, 'agent.yml'), /agent.yml: zkAuth: must be user:password/)
    assert.throws(() => parseAgentConfig(base, 'agent.yml', {STCONF_ZK_AUTH: 'x'}), /STCONF_ZK_AUTH: must be user:password/)
    const http = base.replace('zk://zk1:2181/stconf', 'http://center:7070') + 'token: t\nzkAuth: a:b\n'
    assert.throws(() => parseAgentConfig(http, 'agent.yml'), /zkAuth: only a zk:\/\/ source uses it/)
  })
})

describe('token roles and scopes (src/lib/server/tokens.ts)', () => {
  const bearer = (token: string) => `Bearer ${token}`

  async function withStore(run: (store: TokenStore, dir: string) => Promise<void>, seed?: unknown): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'stconf-tokens-'))
    try {
      if (seed) writeFileSync(join(dir, 'tokens.json'), JSON.stringify(seed))
      await run(await TokenStore.open(dir), dir)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  it('lets agent tokens read and report but not view, write or manage; viewers view but do not report', () =>
    withStore(async (store) => {
      const agent = bearer(await store.create('fleet', 'agent'))
      const viewer = bearer(await store.create('eyes', 'viewer'))
      assert.equal(store.authorize(agent, 'read', {env: 'prod'}).name, 'fleet')
      assert.equal(store.authorize(agent, 'report', {env: 'prod', host: 'gs-1'}).role, 'agent')
      for (const action of ['view', 'write', 'admin'] as const) assert.throws(() => store.authorize(agent, action), /role agent; this needs/)
      assert.equal(store.authorize(viewer, 'view').role, 'viewer')
      assert.throws(() => store.authorize(viewer, 'report', {env: 'prod', host: 'gs-1'}), (error: StconfError) => error.status === 403 && /needs agent, operator or admin/.test(error.message))
    }))

  it('holds a scoped token to its envs and host patterns, and lists its scope', () =>
    withStore(async (store) => {
      const token = bearer(await store.create('fleet-prod', 'agent', {envs: ['prod', 'staging'], hosts: ['gs-*']}))
      assert.equal(store.authorize(token, 'read', {env: 'staging'}).name, 'fleet-prod')
      assert.throws(() => store.authorize(token, 'read', {env: 'dev'}), /scoped to env prod, staging, not dev/)
      assert.equal(store.authorize(token, 'report', {env: 'prod', host: 'gs-17'}).name, 'fleet-prod')
      assert.equal(store.authorize(token, 'report', {env: 'prod', host: 'gs-17@game.2'}).name, 'fleet-prod', 'the host part of an instance name')
      assert.throws(() => store.authorize(token, 'report', {env: 'prod', host: 'db-1'}), /may report only for hosts gs-\*, not db-1/)
      assert.deepEqual(
        store.list().map(({name, envs, hosts}) => ({name, envs, hosts})),
        [{name: 'fleet-prod', envs: ['prod', 'staging'], hosts: ['gs-*']}],
      )
    }))

  it('refuses scopes that make no sense', () =>
    withStore(async (store) => {
      await assert.rejects(store.create('a', 'admin', {envs: ['prod']}), /admin token cannot be scoped/)
      await assert.rejects(store.create('b', 'viewer', {hosts: ['gs-*']}), /--hosts is for tokens of role agent/)
      await assert.rejects(store.create('c', 'agent', {envs: ['Prod!']}), /invalid env/)
      await assert.rejects(store.create('d', 'agent', {hosts: ['gs/*']}), /invalid host pattern/)
    }))

  it('reads a tokens.json of an older version (no envs, no hosts) as tokens for everything', () =>
    withStore(
      async (store) => {
        const caller = store.authorize(bearer('old-token-value-0123456789'), 'write', {env: 'anything'})
        assert.deepEqual(caller, {name: 'ci', role: 'operator'})
      },
      {tokens: [{name: 'ci', role: 'operator', hash: 'ad2c02475e6b2aa81d82e7030c6be690d4f2a127e4b255c8e834fe2c5832b806', created: '2026-01-01T00:00:00.000Z'}]},
    ))

  it('matches host patterns with * and ? only', () => {
    assert.equal(matchesHost(['gs-?'], 'gs-1'), true)
    assert.equal(matchesHost(['gs-?'], 'gs-10'), false)
    assert.equal(matchesHost(['gs.*'], 'gsx1'), false, 'a dot is a dot')
  })
})
