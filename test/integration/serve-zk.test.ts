// serve in ZooKeeper mode: the znode layout, out-of-band changes, ZooKeeper outages and session expiry,
// and reconciling history after a crash. Real ZooKeeper, real serve process.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {sha256} from '../../src/lib/model.js'
import {History} from '../../src/lib/server/history.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {ADMIN_TOKEN, runCli, startServe, tempDir, waitUntil, type ServeHandle} from '../helpers/cli.js'
import {connectZk, fourLetter, startZk, type TestZk} from '../helpers/zk-server.js'

describe('serve with ZooKeeper', () => {
  let zkServer: TestZk
  let serve: ServeHandle
  let zk: ZkClient
  let work: string
  const env = () => ({STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'})
  const cli = (args: string[]) => runCli(args, {cwd: work, env: env()})
  const historyOf = async (key: string) =>
    JSON.parse((await cli(['history', key, '--json'])).stdout) as Array<{version: number; kind: string; author: string; sha256: string}>
  /** Each case owns its key: versions 1..n of it, pushed as an operator would. */
  const pushed = async (key: string, versions: number) => {
    for (let version = 1; version <= versions; version++) {
      writeFileSync(join(work, 'versions.ini'), `version = ${version}\n`)
      const result = await cli(['push', key, '--file', 'versions.ini'])
      assert.equal(result.code, 0, result.stderr)
    }
  }

  before(async () => {
    zkServer = await startZk()
    // node-zookeeper-client gives up a connection attempt after sessionTimeout / servers: keep that
    // long enough for a freshly restarted (cold JVM) ZooKeeper on a loaded CI machine.
    serve = await startServe({zk: zkServer.connect, zkSessionTimeoutMs: 4000})
    zk = await connectZk(zkServer, {sessionTimeoutMs: 30_000})
    zk.onState((change) => process.env.STCONF_DEBUG_ZK && console.error(new Date().toISOString(), 'test zk', JSON.stringify(change)))
    work = tempDir()
  })
  after(async () => {
    zk.close()
    await serve.stop()
    if (process.env.STCONF_ZK_LOG) await zkServer.stop()
    else await zkServer.destroy()
  })

  it('records only its own pushes for new keys: no out-of-band entries, parent znodes are not keys', async () => {
    // A serve of its own (own root, own data dir), so its audit log holds only what this test did.
    const own = await startServe({zk: zkServer.connect, zkRoot: '/truth'})
    try {
      const ownCli = (args: string[]) => runCli(args, {cwd: work, env: {STCONF_SERVER: own.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}})
      writeFileSync(join(work, 'rates.ini'), 'xp = 2\n')
      writeFileSync(join(work, 'conf.ini'), 'max = 1\n')
      const first = await ownCli(['push', 'game/conf.d/rates.ini', '--file', 'rates.ini'])
      assert.equal(first.code, 0, first.stderr)
      assert.equal(first.stderr, 'created env prod\n')
      const second = await ownCli(['push', 'game/conf.ini', '--file', 'conf.ini'])
      assert.equal(second.code, 0, second.stderr)
      assert.equal(second.stderr, '')
      // An out-of-band write after the pushes: once it is recorded, the scans that could have
      // misread serve's own writes have run.
      await zk.setData('/truth/config/prod/game/conf.ini', Buffer.from('max = 2\n'))
      const audit = await waitUntil('the out-of-band write in the audit log', async () => {
        const entries = JSON.parse((await ownCli(['audit', '--json'])).stdout) as Array<{action: string; key?: string}>
        return entries.some((e) => e.action === 'out-of-band') ? entries : null
      })
      assert.deepEqual(audit.map((e) => `${e.action} ${e.key}`), ['push game/conf.d/rates.ini', 'push game/conf.ini', 'out-of-band game/conf.ini'])
      const keys = JSON.parse((await ownCli(['ls', '--json'])).stdout) as Array<{key: string}>
      assert.deepEqual(keys.map((k) => k.key), ['game/conf.d/rates.ini', 'game/conf.ini'])
      assert.deepEqual(JSON.parse((await ownCli(['env', 'ls', '--json'])).stdout), [{env: 'prod', keys: 2, instances: 0}])
    } finally {
      await own.stop()
    }
  })

  it('keeps exactly the file bytes at <root>/config/<env>/<key>, with meta beside it', async () => {
    const bytes = Buffer.from('[game]\r\nmax_players = 100\r\n')
    writeFileSync(join(work, 'conf.ini'), bytes)
    assert.equal((await cli(['push', 'game/conf.ini', '--file', 'conf.ini', '-m', 'one'])).code, 0)
    const node = await zk.getData('/stconf/config/prod/game/conf.ini')
    assert.deepEqual(node?.data, bytes)
    const meta = JSON.parse((await zk.getData('/stconf/meta/prod/game/conf.ini'))!.data.toString())
    assert.equal(meta.version, 1)
    assert.equal(meta.sha256, sha256(bytes))
    // Any ZooKeeper client reads the file as it is: zkCli prints it.
    const printed = execFileSync('/usr/share/zookeeper/bin/zkCli.sh', ['-server', zkServer.connect, 'get', '/stconf/config/prod/game/conf.ini'], {
      env: {...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE'},
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString()
    assert.match(printed, /max_players = 100/)
  })

  it('records a change made straight in ZooKeeper as an out-of-band version (history and audit)', async () => {
    await pushed('game/oob.ini', 1)
    await zk.setData('/stconf/config/prod/game/oob.ini', Buffer.from('[game]\nmax_players = 7\n'))
    const history = await waitUntil('the out-of-band version', async () => {
      const h = await historyOf('game/oob.ini')
      return h[0]?.kind === 'out-of-band' ? h : null
    })
    assert.equal(history[0].version, 2)
    assert.equal(history[0].author, 'zookeeper')
    const pulled = await cli(['pull', 'game/oob.ini', '-o', '-'])
    assert.equal(pulled.stdout, '[game]\nmax_players = 7\n')
    const audit = JSON.parse((await cli(['audit', '--json'])).stdout) as Array<{action: string; version?: number}>
    assert.ok(audit.some((e) => e.action === 'out-of-band' && e.version === 2))
  })

  it('follows a key deleted and re-created in ZooKeeper without reusing a version', async () => {
    await pushed('game/recreated.ini', 2)
    await zk.remove('/stconf/config/prod/game/recreated.ini')
    await zk.remove('/stconf/meta/prod/game/recreated.ini')
    await waitUntil('the deletion in the audit log', async () => {
      const audit = JSON.parse((await cli(['audit', '--json'])).stdout) as Array<{action: string}>
      return audit.some((e) => e.action === 'out-of-band-delete')
    })
    await zk.create('/stconf/config/prod/game/recreated.ini', Buffer.from('recreated\n'))
    const history = await waitUntil('the re-created key as version 3', async () => {
      const h = await historyOf('game/recreated.ini')
      return h[0]?.version === 3 ? h : null
    })
    assert.equal(history[0].kind, 'out-of-band')
    assert.equal(history[0].sha256, sha256(Buffer.from('recreated\n')))
  })

  it('answers 503 with a clear message while ZooKeeper is down, and recovers when it returns', async () => {
    await pushed('game/outage.ini', 3)
    writeFileSync(join(work, 'outage.ini'), 'pushed after the outage\n')
    const logFrom = serve.output().length
    await zkServer.stop()
    const push = await cli(['push', 'game/outage.ini', '--file', 'outage.ini'])
    assert.equal(push.code, 6)
    assert.match(push.stderr, /ZooKeeper at 127\.0\.0\.1:\d+ is unreachable/)
    const health = await fetch(`${serve.url}/healthz`)
    assert.equal(health.status, 503)
    const body = await fetch(`${serve.url}/api/v1/config/prod/game/outage.ini`, {headers: {authorization: `Bearer ${ADMIN_TOKEN}`}})
    assert.equal(body.status, 503)
    assert.equal(((await body.json()) as {error: string}).error, 'unavailable')
    await zkServer.start()
    // serve's session (4 s) may expire while ZooKeeper is down: it must then build a new one by itself.
    // Generous: a cold ZooKeeper JVM on a loaded machine can take many seconds to serve new sessions.
    await waitUntil('serve to reconnect', async () => (await fetch(`${serve.url}/healthz`)).status === 200, 90_000)
    // serve says so in its log, with the time and the address: lost, then back (same or new session).
    const log = await waitUntil('serve to log that ZooKeeper is back', () => {
      const text = serve.output().slice(logFrom)
      return /: (reconnected|new session)/.test(text) ? text : null
    })
    const lost = log.search(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ZooKeeper ${zkServer.connect}: connection lost`, 'm'))
    const back = log.search(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ZooKeeper ${zkServer.connect}: (reconnected \\(same session|new session 0x\\w+ established)`, 'm'))
    assert.ok(lost >= 0 && back > lost, `serve's log while ZooKeeper was away:\n${log}`)
    const again = await waitUntil('a push after ZooKeeper returned', async () => {
      const r = await cli(['push', 'game/outage.ini', '--file', 'outage.ini', '--json'])
      return r.code === 0 ? r : null
    }, 60_000)
    assert.equal(JSON.parse(again.stdout).version, 4)
  })

  it('recovers from its own session expiry (serve paused past its session timeout)', async () => {
    await pushed('game/expiry.ini', 4)
    const logFrom = serve.output().length
    // Paused until ZooKeeper has expired serve's session (gone from the server's own list), no longer.
    const session = [...serve.output().matchAll(/session 0x([0-9a-f]+)/g)].at(-1)?.[1]
    assert.ok(session, `serve's log names its session:\n${serve.output()}`)
    serve.proc.kill('SIGSTOP')
    try {
      const listed = `0x${session.replace(/^0+/, '')}`
      await waitUntil('ZooKeeper to expire the paused serve\'s session', async () => !(await fourLetter(zkServer.port, 'dump')).includes(listed), 60_000)
    } finally {
      serve.proc.kill('SIGCONT')
    }
    await waitUntil('serve to come back', async () => (await fetch(`${serve.url}/healthz`)).status === 200, 90_000)
    const log = await waitUntil('serve to log its new ZooKeeper session', () => {
      const text = serve.output().slice(logFrom)
      return /: new session 0x\w+ established/.test(text) ? text : null
    })
    assert.match(log, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ZooKeeper ${zkServer.connect}: (connection lost|session 0x\\w+ expired)`, 'm'))
    // The out-of-band scan's watches were re-armed on the new session:
    await waitUntil('the test client to write', () => zk.setData('/stconf/config/prod/game/expiry.ini', Buffer.from('after expiry\n')), 60_000)
    await waitUntil('out-of-band version 5 after expiry', async () => (await historyOf('game/expiry.ini'))[0]?.version === 5, 60_000)
  })

  it('fills history from ZooKeeper on start when a crash left it behind', async () => {
    await pushed('game/crash.ini', 5)
    await serve.stop()
    const bytes = Buffer.from('written before the crash\n')
    const meta = {version: 6, sha256: sha256(bytes), size: bytes.length, author: 'admin', message: 'acked', time: new Date().toISOString(), kind: 'push'}
    await waitUntil('the test client to write', async () => zk.multi([
      {op: 'set', path: '/stconf/config/prod/game/crash.ini', data: bytes, version: -1},
      {op: 'set', path: '/stconf/meta/prod/game/crash.ini', data: Buffer.from(JSON.stringify(meta)), version: -1},
    ]).then(() => true), 60_000)
    serve = await startServe({zk: zkServer.connect, dataDir: serve.dataDir})
    const history = await historyOf('game/crash.ini')
    assert.equal(history[0].version, 6)
    assert.equal(history[0].sha256, meta.sha256)
    assert.equal(history[0].kind, 'push')
  })

  it('takes back the history line written beside a commit ZooKeeper refused, and stores the push as the next version', async () => {
    await pushed('game/refused.ini', 2)
    // A write behind serve's back that changes no bytes: only the meta znode's version moves, so
    // serve's next multi (guarded by the versions it last wrote) is refused.
    const metaPath = '/stconf/meta/prod/game/refused.ini'
    const node = await zk.getData(metaPath)
    await zk.setData(metaPath, node!.data)
    writeFileSync(join(work, 'refused.ini'), 'after the refusal\n')
    const push = await cli(['push', 'game/refused.ini', '--file', 'refused.ini', '--json'])
    assert.equal(push.code, 0, push.stderr)
    assert.equal(JSON.parse(push.stdout).version, 4)
    assert.deepEqual((await historyOf('game/refused.ini')).map((v) => v.version), [4, 2, 1])
    const three = await cli(['pull', 'game/refused.ini', '--version', '3', '-o', '-'])
    assert.equal(three.code, 3, three.stderr)
    const audit = JSON.parse((await cli(['audit', '--key', 'game/refused.ini', '--json'])).stdout) as Array<{action: string; version?: number; detail?: string}>
    assert.deepEqual(audit.map((e) => `${e.action} ${e.version}`).sort(), ['push 1', 'push 2', 'push 3', 'push 4', 'push-failed 3'])
    assert.match(audit.find((e) => e.action === 'push-failed')!.detail!, /^not stored: conflict/)
  })

  it('withdraws on start a history line a crash left ahead of its commit', async () => {
    await pushed('game/ahead.ini', 2)
    await serve.stop()
    const bytes = Buffer.from('never committed\n')
    const meta = {version: 3, sha256: sha256(bytes), size: bytes.length, author: 'admin', message: '', time: new Date().toISOString(), kind: 'push' as const}
    await new History(serve.dataDir).append('prod', 'game/ahead.ini', meta, bytes)
    serve = await startServe({zk: zkServer.connect, dataDir: serve.dataDir})
    assert.deepEqual((await historyOf('game/ahead.ini')).map((v) => v.version), [2, 1])
    const audit = JSON.parse((await cli(['audit', '--key', 'game/ahead.ini', '--action', 'push-failed', '--json'])).stdout) as Array<{actor: string; version: number}>
    assert.deepEqual(audit.map((e) => [e.actor, e.version]), [['stconf', 3]])
    await pushed('game/ahead.ini', 1)
    assert.deepEqual((await historyOf('game/ahead.ini')).map((v) => v.version), [4, 2, 1])
  })

  it('with --zk-auth, creates nodes readable by all but writable only by its own identity', async () => {
    const secure = await startServe({zk: zkServer.connect, zkRoot: '/secure', args: ['--zk-auth', 'stconf:s3cret']})
    try {
      const put = await fetch(`${secure.url}/api/v1/config/prod/game/conf.ini`, {method: 'PUT', headers: {authorization: `Bearer ${ADMIN_TOKEN}`}, body: 'k=v\n'})
      assert.equal(put.status, 201)
      // The test's client has no credentials: it reads (as agents do) but cannot write.
      const read = await waitUntil('the test client to read', () => zk.getData('/secure/config/prod/game/conf.ini'), 60_000)
      assert.equal(read.data.toString(), 'k=v\n')
      await assert.rejects(zk.setData('/secure/config/prod/game/conf.ini', Buffer.from('hijack\n')), /ZooKeeper refused write \/secure\/config\/prod\/game\/conf.ini \(NO_AUTH/)
      await assert.rejects(zk.setData('/secure/meta/prod/game/conf.ini', Buffer.from('{}')), /ZooKeeper refused write \/secure\/meta/)
    } finally {
      await secure.stop()
    }
  })

  it('stops on SIGTERM even while ZooKeeper is down', async () => {
    const other = await startServe({zk: zkServer.connect, zkRoot: '/stopping'})
    await zkServer.stop()
    try {
      other.proc.kill('SIGTERM')
      await waitUntil('serve to exit', () => other.proc.exitCode !== null || other.proc.signalCode !== null, 30_000)
      assert.equal(other.proc.exitCode, 0)
    } finally {
      other.proc.kill('SIGKILL')
      await zkServer.start()
    }
  })
})
