// The fleet as operators see it, with real ZooKeeper, real serve and real agent processes:
// instances that go away stay listed (kill -9: offline, SIGTERM: stopped), also across a serve restart;
// --forget; status exit codes (0 / 7 / 8); two agents on one host (one with `app:`); push --wait
// (0 all applied, 7 a failing reload, 8 an agent that cannot answer in time).
import assert from 'node:assert/strict'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {StatusRow} from '../../src/lib/agent/status.js'
import type {RolloutResult} from '../../src/lib/client/rollout.js'
import type {InstanceView} from '../../src/lib/fleet.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {readText, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, startServe, status, tempDir, waitUntil, type CliResult, type Proc, type ServeHandle} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

const LONG = 60_000 // generous: the machine is shared and noisy

describe('fleet status: offline and stopped instances, exit codes, instance names, push --wait', () => {
  let zk: TestZk
  let serve: ServeHandle
  let client: ZkClient
  const agents: Proc[] = []
  const dataDir = tempDir('stconf-serve-')

  before(async () => {
    zk = await startZk()
    serve = await startServe({zk: zk.connect, dataDir, zkSessionTimeoutMs: 4000})
    client = await connectZk(zk, {sessionTimeoutMs: 30_000})
  })

  after(async () => {
    for (const agent of agents) {
      if (agent.running) agent.child.kill('SIGCONT')
      await agent.stop('SIGKILL')
    }

    client.close()
    await serve.stop()
    await zk.destroy()
  })

  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--server', serve.url, '--token', ADMIN_TOKEN])
  const row = (rows: StatusRow[], instance: string) => rows.find((r) => r.instance === instance)
  // Waiting reads the HTTP API (cheap); what is asserted comes from the CLI.
  const views = async (env: string): Promise<InstanceView[]> => {
    const response = await fetch(`${serve.url}/api/v1/instances/${env}`, {headers: {authorization: `Bearer ${ADMIN_TOKEN}`}})
    return ((await response.json()) as {instances: InstanceView[]}).instances
  }

  const stateOf = async (env: string, instance: string) => (await views(env)).find((v) => v.instance === instance)?.state
  const pushFile = async (env: string, key: string, content: string, extra: string[] = []): Promise<CliResult> => {
    const file = join(tempDir('stconf-push-'), 'content')
    writeFileSync(file, content)
    return cli(['push', key, '--env', env, '--file', file, '--no-validate', ...extra])
  }

  function agent(env: string, host: string, files: Array<{key: string; dest: string; reload?: string; reloadTimeout?: string}>, extra: Record<string, unknown> = {}): Proc {
    const dir = tempDir()
    const config = writeAgentConfig(dir, {source: `zk://${zk.connect}/stconf`, env, host, pollInterval: '500ms', sessionTimeout: '2s', files, ...extra})
    const proc = startAgent(config)
    agents.push(proc)
    return proc
  }

  it('two agents on one host (one with app:) are both listed, grouped by host; status exits 0 when all are in sync', async () => {
    const dir = tempDir()
    assert.equal((await pushFile('two', 'game/conf.ini', 'a=1\n')).code, 0)
    agent('two', 'gs-1', [{key: 'game/conf.ini', dest: join(dir, 'main.ini')}])
    agent('two', 'gs-1', [{key: 'game/conf.ini', dest: join(dir, 'second.ini')}], {app: 'lobby'})
    agent('two', 'gs-0', [{key: 'game/conf.ini', dest: join(dir, 'other.ini')}])
    await waitUntil('three instances in sync', async () => {
      const all = await views('two')
      return all.length === 3 && all.every((v) => v.state === 'ok')
    }, LONG)
    const {code, rows} = await status(serve.url, 'two')
    assert.equal(code, 0)
    assert.deepEqual(
      rows.map((r) => [r.host, r.instance, r.state]),
      [
        ['gs-0', 'gs-0', 'ok'],
        ['gs-1', 'gs-1', 'ok'],
        ['gs-1', 'gs-1@lobby', 'ok'],
      ],
    )
    assert.equal(row(rows, 'gs-1@lobby')?.app, 'lobby')
    const table = await cli(['status', '--env', 'two'])
    assert.equal(table.code, 0)
    // The host is written once per block of its instances.
    assert.match(table.stdout, /^gs-1 +gs-1 +ok/m)
    assert.match(table.stdout, /^ +gs-1@lobby +ok/m)
  })

  it('kill -9: offline with its last versions (exit 8); SIGTERM: stopped (not counted); both survive a serve restart; --forget removes one, audited', async () => {
    const dir = tempDir()
    await pushFile('gone', 'game/conf.ini', 'v=1\n')
    const crashing = agent('gone', 'gs-crash', [{key: 'game/conf.ini', dest: join(dir, 'crash.ini')}])
    const stopping = agent('gone', 'gs-stop', [{key: 'game/conf.ini', dest: join(dir, 'stop.ini')}])
    const survivor = agent('gone', 'gs-live', [{key: 'game/conf.ini', dest: join(dir, 'live.ini')}])
    await waitUntil('three in sync', async () => (await views('gone')).filter((v) => v.state === 'ok').length === 3, LONG)

    await crashing.stop('SIGKILL')
    await waitUntil('the killed agent listed offline', async () => (await stateOf('gone', 'gs-crash')) === 'offline', LONG)
    const crashed = await status(serve.url, 'gone')
    const offline = row(crashed.rows, 'gs-crash')!
    assert.equal(offline.online, false)
    assert.equal(offline.version, 1, 'the version it last applied is kept')
    assert.equal(offline.inSync, false)
    assert.ok(Date.parse(offline.since) > 0, 'since when')
    assert.equal(crashed.code, 8, 'an offline instance means not converged')
    assert.match(crashed.stderr, /not converged: gs-crash/)

    assert.equal(await stopping.stop('SIGTERM'), 0)
    await waitUntil('the stopped agent listed stopped', async () => (await stateOf('gone', 'gs-stop')) === 'stopped', LONG)
    const stopped = await status(serve.url, 'gone')
    assert.equal(row(stopped.rows, 'gs-stop')?.version, 1)
    assert.equal(row(stopped.rows, 'gs-stop')?.online, false)
    assert.equal(row(stopped.rows, 'gs-live')?.state, 'ok')
    assert.deepEqual(await client.getChildren('/stconf/instances/gone'), ['gs-live'], 'serve removed the stopped marker once recorded')

    // Forgetting the offline one leaves a converged fleet: gs-live ok, gs-stop stopped (not counted).
    const forgot = await cli(['status', '--env', 'gone', '--forget', 'gs-crash'])
    assert.equal(forgot.code, 0, forgot.stderr)
    const after = await status(serve.url, 'gone')
    assert.deepEqual(after.rows.map((r) => r.instance), ['gs-live', 'gs-stop'])
    assert.equal(after.code, 0)
    const audit = await cli(['audit', '--json'])
    assert.ok((JSON.parse(audit.stdout) as Array<{action: string; detail?: string}>).some((e) => e.action === 'instance-forget' && e.detail?.startsWith('gs-crash')))

    const online = await cli(['status', '--env', 'gone', '--forget', 'gs-live'])
    assert.equal(online.code, 4, 'an online instance cannot be forgotten')
    assert.match(online.stderr, /gs-live is online - /)
    const unknown = await cli(['status', '--env', 'gone', '--forget', 'gs-nobody'])
    assert.equal(unknown.code, 3)
    const bad = await cli(['status', '--env', 'gone', '--forget', 'gs 1'])
    assert.equal(bad.code, 2)

    // serve restarts; meanwhile gs-live crashes. Remembered instances are still listed, and the crash
    // that happened while serve was down is noticed at start.
    await serve.stop()
    await survivor.stop('SIGKILL')
    await waitUntil('the killed agent\'s node expired', async () => (await client.getChildren('/stconf/instances/gone'))?.length === 0, LONG)
    serve = await startServe({zk: zk.connect, dataDir, zkSessionTimeoutMs: 4000})
    const restarted = await status(serve.url, 'gone')
    assert.deepEqual(restarted.rows.map((r) => [r.instance, r.state, r.version]), [
      ['gs-live', 'offline', 1],
      ['gs-stop', 'stopped', 1],
    ])
    assert.equal(restarted.code, 8)
  })

  it('status exits 7 when an instance failed its reload', async () => {
    const dir = tempDir()
    await pushFile('fail7', 'game/conf.ini', 'v=1\n')
    agent('fail7', 'gs-bad', [{key: 'game/conf.ini', dest: join(dir, 'bad.ini'), reload: 'exit 3'}])
    await waitUntil('reload-failed reported', async () => (await views('fail7'))[0]?.files[0]?.status === 'reload-failed', LONG)
    const failed = await status(serve.url, 'fail7')
    assert.equal(failed.rows[0].state, 'failed')
    assert.equal(failed.code, 7)
    assert.match(failed.stderr, /failed on gs-bad/)
  })

  it('push --wait: exit 0 when every online instance applied it, 7 naming a host whose reload failed, 8 when one cannot answer in time', async () => {
    const dir = tempDir()
    const reloadFails = join(dir, 'reload-fails')
    await pushFile('wait', 'game/conf.ini', 'v=1\n')
    // gs-w2 reloads fine until the file reload-fails exists.
    agent('wait', 'gs-w1', [{key: 'game/conf.ini', dest: join(dir, 'w1.ini')}])
    agent('wait', 'gs-w2', [{key: 'game/conf.ini', dest: join(dir, 'w2.ini'), reload: `test ! -e ${reloadFails}`}])
    await waitUntil('both in sync', async () => {
      const all = await views('wait')
      return all.length === 2 && all.every((v) => v.state === 'ok')
    }, LONG)

    const ok = await pushFile('wait', 'game/conf.ini', 'v=2\n', ['--wait', '--wait-timeout', '60s', '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const answer = JSON.parse(ok.stdout) as {version: number; wait: RolloutResult}
    assert.equal(answer.version, 2)
    assert.deepEqual(answer.wait.receipts.map((r) => [r.instance, r.status, r.version]), [
      ['gs-w1', 'ok', 2],
      ['gs-w2', 'ok', 2],
    ])
    assert.equal(readText(join(dir, 'w1.ini')), 'v=2\n')
    assert.match(ok.stderr, /applied 2\/2, failed 0, pending 0/, 'plain progress on a stderr that is not a TTY')

    writeFileSync(reloadFails, '')
    const failed = await pushFile('wait', 'game/conf.ini', 'v=3\n', ['--wait', '--wait-timeout', '60s'])
    assert.equal(failed.code, 7, failed.stderr + failed.stdout)
    assert.match(failed.stderr, /version 3 of game\/conf.ini failed on gs-w2 - /)
    assert.match(failed.stdout, /^gs-w1 +gs-w1 +ok +3/m)
    assert.match(failed.stdout, /^gs-w2 +gs-w2 +failed +2 +version 3: reload failed/m)

    rmSync(reloadFails) // gs-w2 reloads fine again (and takes the next version: a newer one is tried)
    // An agent frozen with SIGSTOP keeps its ZooKeeper session for a while (sessionTimeout 30s) but
    // cannot apply anything: the wait ends at its timeout with exit 8.
    const frozen = agent('wait', 'gs-w3', [{key: 'game/conf.ini', dest: join(dir, 'w3.ini')}], {sessionTimeout: '30s'})
    await waitUntil('gs-w3 in sync', async () => (await stateOf('wait', 'gs-w3')) === 'ok', LONG)
    frozen.child.kill('SIGSTOP')
    try {
      const timedOut = await pushFile('wait', 'game/conf.ini', 'v=4\n', ['--wait', '--wait-timeout', '2s', '--json'])
      assert.equal(timedOut.code, 8, timedOut.stderr)
      assert.match(timedOut.stderr, /not converged: gs-w3 still pending after 2s/)
      const receipts = (JSON.parse(timedOut.stdout) as {wait: RolloutResult}).wait
      assert.equal(receipts.timedOut, true)
      assert.deepEqual(receipts.receipts.map((r) => [r.instance, r.status]), [
        ['gs-w1', 'ok'],
        ['gs-w2', 'ok'],
        ['gs-w3', 'pending'],
      ])
    } finally {
      frozen.child.kill('SIGCONT')
    }

    // rollback --wait: the same receipts, for the version the rollback made.
    const rolledBack = await cli(['rollback', 'game/conf.ini', '--env', 'wait', '--to', '1', '--wait', '--wait-timeout', '60s', '--json'])
    assert.equal(rolledBack.code, 0, rolledBack.stderr)
    const rollback = JSON.parse(rolledBack.stdout) as {version: number; wait: RolloutResult}
    assert.equal(rollback.version, 5)
    assert.deepEqual(rollback.wait.receipts.map((r) => [r.instance, r.status, r.version]), [
      ['gs-w1', 'ok', 5],
      ['gs-w2', 'ok', 5],
      ['gs-w3', 'ok', 5],
    ])
    assert.equal(readText(join(dir, 'w3.ini')), 'v=1\n')

    const badTimeout = await pushFile('wait', 'game/conf.ini', 'v=6\n', ['--wait', '--wait-timeout', 'soon'])
    assert.equal(badTimeout.code, 2)
    assert.match(badTimeout.stderr, /invalid --wait-timeout "soon"/)
    const history = await cli(['history', 'game/conf.ini', '--env', 'wait', '--json'])
    assert.equal((JSON.parse(history.stdout) as Array<{version: number}>)[0].version, 5, 'a bad --wait-timeout publishes nothing')
  })
})
