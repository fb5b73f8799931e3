// The fleet as operators see it, with real ZooKeeper, real serve and real agent processes:
// instances that go away stay listed (kill -9: offline, SIGTERM: stopped), also across a serve restart;
// --forget; status exit codes (0 / 7 / 8); two agents on one host (one with `app:`); push --wait
// (0 all applied, 7 a failing reload, 8 an agent that cannot answer in time).
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {StatusRow} from '../../src/lib/agent/status.js'
import type {RolloutResult} from '../../src/lib/client/rollout.js'
import type {InstanceView} from '../../src/lib/fleet.js'
import {readText, useAgentRig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, startServe, status, tempDir, waitUntil, type CliResult, type Proc, type ServeHandle} from '../helpers/cli.js'

const LONG = 60_000 // generous: the machine is shared and noisy

describe('fleet status: offline and stopped instances, exit codes, instance names, push --wait', () => {
  const rig = useAgentRig({zk: true, serve: true, client: {sessionTimeoutMs: 30_000}})

  const cli = (args: string[], serve: ServeHandle = rig.serve): Promise<CliResult> => runCli([...args, '--server', serve.url, '--token', ADMIN_TOKEN])
  const row = (rows: StatusRow[], instance: string) => rows.find((r) => r.instance === instance)
  // Waiting reads the HTTP API (cheap); what is asserted comes from the CLI.
  const views = async (env: string, serve: ServeHandle = rig.serve): Promise<InstanceView[]> => {
    const response = await fetch(`${serve.url}/api/v1/instances/${env}`, {headers: {authorization: `Bearer ${ADMIN_TOKEN}`}})
    return ((await response.json()) as {instances: InstanceView[]}).instances
  }

  const stateOf = async (env: string, instance: string, serve: ServeHandle = rig.serve) => (await views(env, serve)).find((v) => v.instance === instance)?.state
  const pushFile = async (env: string, key: string, content: string, extra: string[] = [], serve: ServeHandle = rig.serve): Promise<CliResult> => {
    const file = join(tempDir('stconf-push-'), 'content')
    writeFileSync(file, content)
    return cli(['push', key, '--env', env, '--file', file, '--no-validate', ...extra], serve)
  }

  function agent(env: string, host: string, files: Array<{key: string; dest: string; reload?: string; reloadTimeout?: string}>, extra: Record<string, unknown> = {}): Proc {
    return rig.agent(tempDir(), {env, host, pollInterval: '500ms', sessionTimeout: '2s', files, ...extra})
  }

  /** Agents on `env` with version 1 of game/conf.ini, once all of them report it in place. */
  async function inSync(env: string, hosts: string[], options: {reload?: string; sessionTimeout?: string} = {}) {
    const dir = tempDir()
    assert.equal((await pushFile(env, 'game/conf.ini', 'v=1\n')).code, 0)
    const procs = hosts.map((host) => agent(env, host, [{key: 'game/conf.ini', dest: join(dir, `${host}.ini`), reload: options.reload}], options.sessionTimeout ? {sessionTimeout: options.sessionTimeout} : {}))
    await waitUntil(`${hosts.join(', ')} in sync`, async () => {
      const all = await views(env)
      return all.length === hosts.length && all.every((v) => v.state === 'ok')
    }, LONG)
    return {dir, procs}
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
    const {code, rows} = await status(rig.serve.url, 'two')
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

  it('kill -9: the instance is listed offline with its last version, and status exits 8 naming it', async () => {
    const {procs: [crashing]} = await inSync('crash', ['gs-crash'])
    await crashing.stop('SIGKILL')
    await waitUntil('the killed agent listed offline', async () => (await stateOf('crash', 'gs-crash')) === 'offline', LONG)
    const crashed = await status(rig.serve.url, 'crash')
    const offline = row(crashed.rows, 'gs-crash')!
    assert.equal(offline.online, false)
    assert.equal(offline.version, 1, 'the version it last applied is kept')
    assert.equal(offline.inSync, false)
    assert.ok(Date.parse(offline.since) > 0, 'since when')
    assert.equal(crashed.code, 8, 'an offline instance means not converged')
    assert.match(crashed.stderr, /not converged: gs-crash/)
  })

  it('SIGTERM: the instance is listed stopped with its last version, and does not count against convergence', async () => {
    const {procs: [stopping]} = await inSync('stop', ['gs-stop', 'gs-live'])
    assert.equal(await stopping.stop('SIGTERM'), 0)
    await waitUntil('the stopped agent listed stopped', async () => (await stateOf('stop', 'gs-stop')) === 'stopped', LONG)
    const stopped = await status(rig.serve.url, 'stop')
    assert.equal(row(stopped.rows, 'gs-stop')?.version, 1)
    assert.equal(row(stopped.rows, 'gs-stop')?.online, false)
    assert.equal(row(stopped.rows, 'gs-live')?.state, 'ok')
    assert.equal(stopped.code, 0)
    assert.deepEqual(await rig.client.getChildren('/stconf/instances/stop'), ['gs-live'], 'serve removed the stopped marker once recorded')
  })

  it('status --forget removes an offline instance, audited, and the fleet is converged again', async () => {
    const {procs: [crashing]} = await inSync('forget', ['gs-crash', 'gs-live'])
    await crashing.stop('SIGKILL')
    await waitUntil('the killed agent listed offline', async () => (await stateOf('forget', 'gs-crash')) === 'offline', LONG)
    const forgot = await cli(['status', '--env', 'forget', '--forget', 'gs-crash'])
    assert.equal(forgot.code, 0, forgot.stderr)
    const after = await status(rig.serve.url, 'forget')
    assert.deepEqual(after.rows.map((r) => r.instance), ['gs-live'])
    assert.equal(after.code, 0)
    const audit = await cli(['audit', '--env', 'forget', '--json'])
    assert.ok((JSON.parse(audit.stdout) as Array<{action: string; detail?: string}>).some((e) => e.action === 'instance-forget' && e.detail?.startsWith('gs-crash')), audit.stdout)
  })

  it('status --forget refuses an online instance (4), an unknown one (3) and a bad name (2)', async () => {
    await inSync('forget-no', ['gs-live'])
    const online = await cli(['status', '--env', 'forget-no', '--forget', 'gs-live'])
    assert.equal(online.code, 4, 'an online instance cannot be forgotten')
    assert.match(online.stderr, /gs-live is online - /)
    assert.equal((await cli(['status', '--env', 'forget-no', '--forget', 'gs-nobody'])).code, 3)
    assert.equal((await cli(['status', '--env', 'forget-no', '--forget', 'gs 1'])).code, 2)
    assert.equal(await stateOf('forget-no', 'gs-live'), 'ok')
  })

  it('offline and stopped instances are still listed after a serve restart, and a crash while serve was down is noticed at start', async () => {
    // A serve of this case's own (its own data dir and ZooKeeper root), to restart.
    const root = '/restart'
    const dataDir = tempDir('stconf-serve-')
    const start = () => startServe({zk: rig.zk.connect, zkRoot: root, dataDir, zkSessionTimeoutMs: 4000})
    let serve = await start()
    try {
      const dir = tempDir()
      await pushFile('restart', 'game/conf.ini', 'v=1\n', [], serve)
      const [stopping, survivor] = ['gs-stop', 'gs-live'].map((host) =>
        rig.agent(tempDir(), {source: rig.source(root), env: 'restart', host, pollInterval: '500ms', sessionTimeout: '2s', files: [{key: 'game/conf.ini', dest: join(dir, `${host}.ini`)}]}),
      )
      await waitUntil('both in sync', async () => (await views('restart', serve)).filter((v) => v.state === 'ok').length === 2, LONG)
      assert.equal(await stopping.stop('SIGTERM'), 0)
      await waitUntil('the stopped agent listed stopped', async () => (await stateOf('restart', 'gs-stop', serve)) === 'stopped', LONG)
      await serve.stop()
      await survivor.stop('SIGKILL')
      await waitUntil('the killed agent\'s node expired', async () => (await rig.client.getChildren(`${root}/instances/restart`))?.length === 0, LONG)
      serve = await start()
      const restarted = await status(serve.url, 'restart')
      assert.deepEqual(restarted.rows.map((r) => [r.instance, r.state, r.version]), [
        ['gs-live', 'offline', 1],
        ['gs-stop', 'stopped', 1],
      ])
      assert.equal(restarted.code, 8)
    } finally {
      await serve.stop()
    }
  })

  it('status exits 7 when an instance failed its reload', async () => {
    const dir = tempDir()
    await pushFile('fail7', 'game/conf.ini', 'v=1\n')
    agent('fail7', 'gs-bad', [{key: 'game/conf.ini', dest: join(dir, 'bad.ini'), reload: 'exit 3'}])
    await waitUntil('reload-failed reported', async () => (await views('fail7'))[0]?.files[0]?.status === 'reload-failed', LONG)
    const failed = await status(rig.serve.url, 'fail7')
    assert.equal(failed.rows[0].state, 'failed')
    assert.equal(failed.code, 7)
    assert.match(failed.stderr, /failed on gs-bad/)
  })

  it('push --wait exits 0 with a receipt from every online instance once each applied it', async () => {
    const {dir} = await inSync('wait-ok', ['gs-w1', 'gs-w2'])
    const ok = await pushFile('wait-ok', 'game/conf.ini', 'v=2\n', ['--wait', '--wait-timeout', '60s', '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const answer = JSON.parse(ok.stdout) as {version: number; wait: RolloutResult}
    assert.equal(answer.version, 2)
    assert.deepEqual(answer.wait.receipts.map((r) => [r.instance, r.status, r.version]), [
      ['gs-w1', 'ok', 2],
      ['gs-w2', 'ok', 2],
    ])
    assert.equal(readText(join(dir, 'gs-w1.ini')), 'v=2\n')
    assert.match(ok.stderr, /applied 2\/2, failed 0, pending 0/, 'plain progress on a stderr that is not a TTY')
  })

  it('push --wait exits 7 naming a host whose reload failed', async () => {
    // gs-w2 reloads fine until the file reload-fails exists.
    const reloadFails = join(tempDir(), 'reload-fails')
    await inSync('wait-fail', ['gs-w2'], {reload: `test ! -e ${reloadFails}`})
    writeFileSync(reloadFails, '')
    const failed = await pushFile('wait-fail', 'game/conf.ini', 'v=2\n', ['--wait', '--wait-timeout', '60s'])
    assert.equal(failed.code, 7, failed.stderr + failed.stdout)
    assert.match(failed.stderr, /version 2 of game\/conf.ini failed on gs-w2 - /)
    assert.match(failed.stdout, /^gs-w2 +gs-w2 +failed +1 +version 2: reload failed/m)
  })

  it('push --wait exits 8 when an instance cannot answer in time, naming it pending', async () => {
    // An agent frozen with SIGSTOP keeps its ZooKeeper session for a while (sessionTimeout 30s) but
    // cannot apply anything: the wait ends at its timeout.
    const {procs: [, frozen]} = await inSync('wait-frozen', ['gs-w1', 'gs-w3'], {sessionTimeout: '30s'})
    frozen.child.kill('SIGSTOP')
    try {
      const timedOut = await pushFile('wait-frozen', 'game/conf.ini', 'v=2\n', ['--wait', '--wait-timeout', '2s', '--json'])
      assert.equal(timedOut.code, 8, timedOut.stderr)
      assert.match(timedOut.stderr, /not converged: gs-w3 still pending after 2s/)
      const receipts = (JSON.parse(timedOut.stdout) as {wait: RolloutResult}).wait
      assert.equal(receipts.timedOut, true)
      assert.deepEqual(receipts.receipts.map((r) => [r.instance, r.status]), [
        ['gs-w1', 'ok'],
        ['gs-w3', 'pending'],
      ])
    } finally {
      frozen.child.kill('SIGCONT')
    }
  })

  it('rollback --wait gives the receipts for the version the rollback made', async () => {
    const {dir} = await inSync('wait-rollback', ['gs-w1'])
    assert.equal((await pushFile('wait-rollback', 'game/conf.ini', 'v=2\n')).code, 0)
    const rolledBack = await cli(['rollback', 'game/conf.ini', '--env', 'wait-rollback', '--to', '1', '--wait', '--wait-timeout', '60s', '--json'])
    assert.equal(rolledBack.code, 0, rolledBack.stderr)
    const rollback = JSON.parse(rolledBack.stdout) as {version: number; wait: RolloutResult}
    assert.equal(rollback.version, 3)
    assert.deepEqual(rollback.wait.receipts.map((r) => [r.instance, r.status, r.version]), [['gs-w1', 'ok', 3]])
    assert.equal(readText(join(dir, 'gs-w1.ini')), 'v=1\n')
  })

  it('a bad --wait-timeout is refused with exit 2 and publishes nothing', async () => {
    assert.equal((await pushFile('wait-bad', 'game/conf.ini', 'v=1\n')).code, 0)
    const badTimeout = await pushFile('wait-bad', 'game/conf.ini', 'v=2\n', ['--wait', '--wait-timeout', 'soon'])
    assert.equal(badTimeout.code, 2)
    assert.match(badTimeout.stderr, /invalid --wait-timeout "soon"/)
    const history = await cli(['history', 'game/conf.ini', '--env', 'wait-bad', '--json'])
    assert.equal((JSON.parse(history.stdout) as Array<{version: number}>)[0].version, 1)
  })
})
