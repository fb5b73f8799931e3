// Issue 20 end to end: ZooKeeper digest ACLs (writer, machine identity, closed mode), agents that are
// refused, and token roles and scopes over HTTP. Real ZooKeeper, real serve and agent processes.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {digestId, PERMS, sameAcl} from '../../src/lib/zk/layout.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {logLines, push, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, startServe, status, tempDir, waitUntil, type Proc, type ServeHandle} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

const WRITER = 'stconf:writer-secret'
const MACHINE = 'stconf-agents:machine-secret'

describe('ZooKeeper ACLs: serve writes, machines report, the world reads (or, closed, not even that)', () => {
  let zk: TestZk
  let serve: ServeHandle
  let anonymous: ZkClient
  let machine: ZkClient
  let asServe: ZkClient
  const agents: Proc[] = []
  const dataDir = tempDir('stconf-serve-')
  const zkArgs = ['--zk-auth', WRITER, '--zk-agent-auth', MACHINE]

  before(async () => {
    zk = await startZk()
    // The tree as an older stconf left it: made without ACLs (world may do anything).
    serve = await startServe({zk: zk.connect, dataDir})
    await push(serve.url, 'prod', 'game/conf.ini', 'rate=1\n')
    await serve.stop()
    serve = await startServe({zk: zk.connect, dataDir, args: zkArgs})
    anonymous = await connectZk(zk)
    machine = await connectZk(zk, {auth: MACHINE})
    asServe = await connectZk(zk, {auth: WRITER})
  })

  after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL')
    anonymous?.close()
    machine?.close()
    asServe?.close()
    await serve?.stop()
    await zk?.destroy()
  })

  it('sets the ACLs of a tree made without them on start', async () => {
    await waitUntil('serve to log its ACL pass', () => /ZooKeeper ACLs: \d+ nodes checked, [1-9]\d* set/.test(serve.output()))
    const writer = {perms: PERMS.all, scheme: 'digest', id: digestId(WRITER)}
    // ZooKeeper shows digests only to a client with ADMIN on the node (else user:x): look as serve.
    const config = await asServe.getAcl('/stconf/config/prod/game/conf.ini')
    assert.ok(config && sameAcl(config.acl, [writer, {perms: PERMS.read, scheme: 'world', id: 'anyone'}]), JSON.stringify(config))
    const instances = await asServe.getAcl('/stconf/instances/prod')
    assert.ok(
      instances?.acl.some((entry) => entry.id === digestId(MACHINE) && entry.perms === (PERMS.read | PERMS.create | PERMS.delete)),
      JSON.stringify(instances),
    )
  })

  it('refuses flag combinations that would protect nothing (exit 2, one line)', async () => {
    const alone = await runCli(['serve', '--zk', zk.connect, '--zk-agent-auth', MACHINE, '--data', join(dataDir, 'unused')])
    assert.equal(alone.code, 2)
    assert.equal(alone.stderr, 'stconf: --zk-agent-auth needs --zk-auth - without a writer identity for serve the whole tree is open; set --zk-auth user:password too\n')
    const same = await runCli(['serve', '--zk', zk.connect, '--zk-auth', WRITER, '--zk-agent-auth', 'stconf:other', '--data', join(dataDir, 'unused')])
    assert.equal(same.code, 2)
    assert.match(same.stderr, /--zk-agent-auth must name another user than --zk-auth/)
  })

  it('refuses the machine identity any set, create or delete under config and meta', async () => {
    const refused = /ZooKeeper refused .* \(NO_AUTH/
    await assert.rejects(machine.setData('/stconf/config/prod/game/conf.ini', Buffer.from('hijack\n')), refused)
    await assert.rejects(machine.setData('/stconf/meta/prod/game/conf.ini', Buffer.from('{}')), refused)
    await assert.rejects(machine.create('/stconf/config/prod/game/new.ini', Buffer.from('x')), refused)
    await assert.rejects(machine.create('/stconf/meta/staging', Buffer.alloc(0)), refused)
    await assert.rejects(machine.remove('/stconf/config/prod/game/conf.ini'), refused)
    await assert.rejects(machine.remove('/stconf/meta/prod/game/conf.ini'), refused)
    assert.equal((await anonymous.getData('/stconf/config/prod/game/conf.ini'))?.data.toString(), 'rate=1\n')
  })

  it('lists an agent with zkAuth in `stconf status`', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const config = writeAgentConfig(dir, {source: `zk://${zk.connect}/stconf`, host: 'gs-1', zkAuth: MACHINE, files: [{key: 'game/conf.ini', dest}]})
    const agent = startAgent(config)
    agents.push(agent)
    const row = await waitUntil('gs-1 in status', async () => (await status(serve.url, 'prod', {codes: [0]})).rows.find((r) => r.host === 'gs-1' && r.inSync))
    assert.equal(row.via, 'zk')
    assert.equal(readFileSync(dest, 'utf8'), 'rate=1\n')
    assert.equal(await agent.stop(), 0)
    const report = logLines(agent.output).filter((line) => line.refused)
    assert.deepEqual(report, [], 'no refusal with the machine identity')
  })

  it('an agent without credentials applies what it reads, logs one clear line, and --once exits 5', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const config = writeAgentConfig(dir, {source: `zk://${zk.connect}/stconf`, host: 'gs-2', files: [{key: 'game/conf.ini', dest}]})
    const result = await runCli(['agent', '--config', config, '--once', '--log-format', 'json'])
    assert.equal(result.code, 5, result.stdout + result.stderr)
    assert.equal(readFileSync(dest, 'utf8'), 'rate=1\n', 'the open center can still be read')
    const refusals = logLines(result.stdout + result.stderr).filter((line) => line.refused)
    assert.equal(refusals.length, 1, JSON.stringify(refusals))
    assert.equal(refusals[0].level, 'error')
    assert.equal(refusals[0].refused, 'report')
    assert.match(refusals[0].msg, /ZooKeeper refused this agent's instance report \(create \/stconf\/instances\/prod\/gs-2: NO_AUTH, no zkAuth set\) - set zkAuth/)
    assert.ok(!(await status(serve.url, 'prod', {codes: [0]})).rows.some((row) => row.host === 'gs-2'))
  })

  it('in closed mode, an anonymous client cannot read a config; the machine identity and its agents can', async () => {
    await serve.stop()
    serve = await startServe({zk: zk.connect, dataDir, args: [...zkArgs, '--zk-closed']})
    await assert.rejects(anonymous.getData('/stconf/config/prod/game/conf.ini'), /ZooKeeper refused read .* \(NO_AUTH/)
    assert.equal((await machine.getData('/stconf/config/prod/game/conf.ini'))?.data.toString(), 'rate=1\n')

    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const config = writeAgentConfig(dir, {source: `zk://${zk.connect}/stconf`, host: 'gs-3', files: [{key: 'game/conf.ini', dest}]})
    const refused = await runCli(['agent', '--config', config, '--once', '--log-format', 'json'])
    assert.equal(refused.code, 5, refused.stdout + refused.stderr)
    const lines = logLines(refused.stdout + refused.stderr).filter((line) => line.refused === 'read')
    assert.equal(lines.length, 1, JSON.stringify(lines))
    assert.match(lines[0].msg, /ZooKeeper refused this agent's reads \(read \/stconf\/meta\/prod\/game\/conf.ini: NO_AUTH, no zkAuth set\) - set zkAuth/)

    // The same agent with the machine identity from its environment: it reads, and serve reads its report.
    const agent = startAgent(config, [], {STCONF_ZK_AUTH: MACHINE})
    agents.push(agent)
    await waitUntil('gs-3 in status (closed)', async () => (await status(serve.url, 'prod', {codes: [0]})).rows.find((row) => row.host === 'gs-3' && row.inSync))
    assert.equal(readFileSync(dest, 'utf8'), 'rate=1\n')
    assert.equal(await agent.stop(), 0)
  })
})

describe('tokens over HTTP: role agent, viewers no longer report, scopes', () => {
  let serve: ServeHandle
  const tokens: Record<string, string> = {}
  const cli = (args: string[], token = ADMIN_TOKEN, input?: string) => runCli(args, {env: {STCONF_SERVER: serve.url, STCONF_TOKEN: token}, input})
  const api = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${serve.url}${path}`, {
      method,
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    })

  before(async () => {
    serve = await startServe()
    const created = await cli(['token', 'create', 'fleet-prod', '--role', 'agent', '--env', 'prod', '--hosts', 'gs-*,gs?'])
    assert.equal(created.code, 0, created.stderr)
    tokens['fleet-prod'] = created.stdout.trim().split('\n').at(-1)!
    for (const [name, role] of [['eyes', 'viewer'], ['fleet', 'agent']]) {
      const response = await api('POST', '/api/v1/tokens', ADMIN_TOKEN, {name, role})
      assert.equal(response.status, 201)
      tokens[name] = ((await response.json()) as {token: string}).token
    }

    await push(serve.url, 'prod', 'game/conf.ini', 'rate=1\n')
    await push(serve.url, 'staging', 'game/conf.ini', 'rate=2\n')
  })

  after(async () => {
    await serve?.stop()
  })

  function httpAgent(host: string, token: string): string {
    const dir = tempDir()
    return writeAgentConfig(dir, {source: serve.url, host, token, files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
  }

  const heartbeat = (env: string, host: string, token: string) =>
    api('PUT', `/api/v1/instances/${env}/${host}`, token, {host, pid: 1, agentVersion: 'test', startedAt: '', updatedAt: '', files: [], intervalMs: 5000})

  it('refuses a viewer token\'s heartbeat (403), and the host is not listed', async () => {
    const response = await heartbeat('prod', 'forger', tokens.eyes)
    assert.equal(response.status, 403)
    assert.match(((await response.json()) as {message: string}).message, /role viewer; this needs agent, operator or admin/)

    const result = await runCli(['agent', '--config', httpAgent('viewer-host', tokens.eyes), '--once', '--log-format', 'json'])
    assert.equal(result.code, 5, result.stdout + result.stderr)
    const refusals = logLines(result.stdout + result.stderr).filter((line) => line.refused)
    assert.equal(refusals.length, 1, JSON.stringify(refusals))
    assert.match(refusals[0].msg, /serve refused this agent's instance report .*HTTP 403.* - give the agent a token of role agent/)
    assert.deepEqual((await status(serve.url, 'prod', {codes: [0]})).rows.map((row) => row.host), [])
  })

  it('lets an agent token pull and report, but `push` exits 5', async () => {
    const pulled = await cli(['pull', 'game/conf.ini', '--env', 'prod', '-o', '-'], tokens.fleet)
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(pulled.stdout, 'rate=1\n')
    const once = await runCli(['agent', '--config', httpAgent('gs-7', tokens.fleet), '--once'])
    assert.equal(once.code, 0, once.stdout + once.stderr)
    // --once withdraws its report as it stops; a service-mode agent's stays. Report as one would.
    assert.equal((await heartbeat('prod', 'gs-8', tokens.fleet)).status, 200)
    assert.ok((await status(serve.url, 'prod', {codes: [0]})).rows.some((row) => row.host === 'gs-8'))

    // Some bytes on stdin: an empty push is refused before any request (exit 2, issue 7).
    const pushed = await cli(['push', 'game/conf.ini', '--env', 'prod', '--file', '-'], tokens.fleet, 'rate=2\n')
    assert.equal(pushed.code, 5)
    assert.match(pushed.stderr, /role agent; this needs operator or admin/)
    for (const path of ['/api/v1/audit', '/api/v1/history/prod/game/conf.ini', '/api/v1/instances/prod', '/api/v1/tokens']) {
      assert.equal((await api('GET', path, tokens.fleet)).status, 403, path)
    }
  })

  it('gives an env-scoped token 403 in another env, and holds it to its host pattern', async () => {
    const scoped = tokens['fleet-prod']
    assert.equal((await api('GET', '/api/v1/config/prod/game/conf.ini', scoped)).status, 200)
    const other = await cli(['pull', 'game/conf.ini', '--env', 'staging', '-o', '-'], scoped)
    assert.equal(other.code, 5)
    assert.match(other.stderr, /token "fleet-prod" is scoped to env prod, not staging/)
    assert.equal((await api('POST', '/api/v1/watch/staging', scoped, {keys: {'game/conf.ini': -1}, timeoutMs: 0})).status, 403)
    assert.equal((await api('GET', '/api/v1/keys/staging', scoped)).status, 403)
    assert.equal((await heartbeat('staging', 'gs-1', scoped)).status, 403)
    assert.equal((await heartbeat('prod', 'db-1', scoped)).status, 403)
    assert.equal((await heartbeat('prod', 'gs-1', scoped)).status, 200)
    assert.equal((await heartbeat('prod', 'gsx', scoped)).status, 200, 'the second pattern of the comma list')

    const list = await cli(['token', 'list'])
    assert.match(list.stdout, /^fleet-prod\s+agent\s+prod\s+gs-\*,gs\?\s/m)
    assert.match(list.stdout, /^fleet\s+agent\s+\*\s+\*\s/m)
  })
})
