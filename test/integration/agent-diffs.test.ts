// The agent shows what it changes (issue 17): real ZooKeeper, real `stconf serve --zk`, real agent
// processes. One log line per applied file with its diff stat, the diff only with `logDiff: true`,
// the stat in the report and in `stconf status`, and `--once --dry-run`, which changes nothing.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {DryRunResult} from '../../src/lib/agent/dry-run.js'
import type {StatusRow} from '../../src/lib/agent/status.js'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {logLines, push, readInstance, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, startServe, tempDir, waitUntil, type Proc, type ServeHandle} from '../helpers/cli.js'
import {connectZk, freePort, startZk, type TestZk} from '../helpers/zk-server.js'

describe('the agent shows what it changes', () => {
  let zk: TestZk
  let serve: ServeHandle
  let client: ZkClient
  const agents: Proc[] = []
  before(async () => {
    zk = await startZk()
    serve = await startServe({zk: zk.connect, zkSessionTimeoutMs: 4000})
    client = await connectZk(zk)
  })

  after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL')
    client.close()
    await serve.stop()
    await zk.destroy()
  })

  const instance = async (env: string, host: string) => (await readInstance(client, env, host))?.report

  const cli = (args: string[]) => runCli([...args, '--server', serve.url, '--token', ADMIN_TOKEN])

  it('logs one line per applied file with +/- counts; the diff only with logDiff; status shows the stat', async () => {
    const work = tempDir()
    const conf = join(work, 'conf.ini')
    const secrets = join(work, 'secrets.ini')
    const reloads = join(work, 'reloads.log')
    await push(serve.url, 'diff1', 'game/conf.ini', '[game]\nplayers=50\nmap=forest\n')
    await push(serve.url, 'diff1', 'game/secrets.ini', 'password=hunter2\n')
    const config = writeAgentConfig(work, {
      source: `zk://${zk.connect}/stconf`,
      env: 'diff1',
      host: 'gs-diff',
      pollInterval: '300ms',
      files: [
        {key: 'game/conf.ini', dest: conf, reload: `echo r >> ${reloads}`, logDiff: true},
        {key: 'game/secrets.ini', dest: secrets},
      ],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 of both files reported', async () => (await instance('diff1', 'gs-diff'))?.files.every((file) => file.version === 1))

    await push(serve.url, 'diff1', 'game/conf.ini', '[game]\nplayers=100\nmap=forest\npvp=on\n')
    await push(serve.url, 'diff1', 'game/secrets.ini', 'password=swordfish\n')
    const applied = (key: string) => logLines(agent.output).find((line) => line.msg === 'applied' && line.key === key && line.version === 2)
    const conf2 = await waitUntil('the log line of game/conf.ini v2', () => applied('game/conf.ini'))
    const secrets2 = await waitUntil('the log line of game/secrets.ini v2', () => applied('game/secrets.ini'))

    assert.equal(conf2.dest, conf)
    assert.equal(conf2.added, 2)
    assert.equal(conf2.removed, 1)
    assert.equal(conf2.kind, 'text')
    assert.equal(conf2.reload, 'ok')
    assert.equal(typeof conf2.reloadMs, 'number')
    const diff = String(conf2.diff)
    for (const line of ['-players=50', '+players=100', '+pvp=on', ' map=forest']) assert.ok(diff.split('\n').includes(line), `${line} in the diff:\n${diff}`)

    assert.equal(secrets2.added, 1)
    assert.equal(secrets2.removed, 1)
    assert.equal(secrets2.reload, 'none')
    assert.equal(secrets2.diff, undefined, 'no diff without logDiff')
    assert.ok(!agent.output.includes('swordfish') && !agent.output.includes('hunter2'), 'the default keeps the content out of the log')

    const report = await waitUntil('the report carries the diff stat', async () => {
      const r = await instance('diff1', 'gs-diff')
      return r?.files.every((file) => file.lastChange?.version === 2) && r
    })
    assert.deepEqual(
      report.files.find((file) => file.key === 'game/conf.ini')?.lastChange,
      {version: 2, kind: 'text', added: 2, removed: 1, bytesBefore: 29, bytesAfter: 37},
    )

    const table = await cli(['status', '--env', 'diff1'])
    assert.equal(table.code, 0, table.stderr)
    const [header, ...rows] = table.stdout.trim().split('\n')
    assert.match(header, /^HOST\s+INSTANCE\s+STATE\s+KEY\s+VERSION\s+CHANGE\s+CENTER/)
    assert.ok(rows.some((row) => /^gs-diff\s+gs-diff\s+ok\s+game\/conf\.ini\s+2\s+\+2 -1\s+2\s+ok/.test(row)), table.stdout)
    assert.ok(rows.some((row) => /\sgame\/secrets\.ini\s+2\s+\+1 -1\s+2\s+ok/.test(row)), table.stdout)
    const json = await cli(['status', '--env', 'diff1', '--json'])
    const byKey = new Map((JSON.parse(json.stdout) as StatusRow[]).map((row) => [row.key, row]))
    assert.equal(byKey.get('game/conf.ini')?.lastChange?.added, 2)

    // A hand edit is put right (same version, reloaded), and the log says what putting it right changed.
    writeFileSync(conf, '[game]\nplayers=100\nmap=desert\npvp=on\n')
    const repair = await waitUntil('the hand edit repaired and logged', () =>
      logLines(agent.output).filter((line) => line.msg === 'applied' && line.key === 'game/conf.ini' && line.version === 2)[1],
    )
    assert.equal(readFileSync(conf, 'utf8'), '[game]\nplayers=100\nmap=forest\npvp=on\n')
    assert.deepEqual([repair.added, repair.removed, repair.reload], [1, 1, 'ok'])
    assert.match(String(repair.diff), /^-map=desert\n\+map=forest$/m)
    assert.equal(await agent.stop(), 0)
  })

  it('the text log line names version, dest, stat and reload result; binary content gives the sizes', async () => {
    const work = tempDir()
    const conf = join(work, 'conf.ini')
    const blob = join(work, 'map.bin')
    writeFileSync(conf, 'a=1\nb=2\n')
    writeFileSync(blob, Buffer.alloc(4096, 0))
    await push(serve.url, 'diff2', 'game/conf.ini', 'a=1\nb=3\nc=4\n')
    await push(serve.url, 'diff2', 'game/map.bin', Buffer.alloc(4120, 0xff))
    const config = writeAgentConfig(work, {
      source: `zk://${zk.connect}/stconf`,
      env: 'diff2',
      host: 'gs-text',
      files: [
        {key: 'game/conf.ini', dest: conf, reload: 'true'},
        {key: 'game/map.bin', dest: blob},
      ],
    })
    const once = await runCli(['agent', '--config', config, '--once'])
    assert.equal(once.code, 0, once.stderr)
    assert.match(once.stdout, new RegExp(`^\\S+ info  game/conf\\.ini v1 -> ${conf}: \\+2 -1 lines, reload ok in \\d+ ms$`, 'm'))
    assert.match(once.stdout, new RegExp(`^\\S+ info  game/map\\.bin v1 -> ${blob}: binary, 4,096 -> 4,120 bytes, no reload$`, 'm'))
    assert.doesNotMatch(once.stdout, /^[-+]b=/m, 'no diff without logDiff')

    // --once --json: the result as data on stdout, the log on stderr
    const again = await runCli(['agent', '--config', config, '--once', '--json'])
    assert.equal(again.code, 0, again.stderr)
    const result = JSON.parse(again.stdout) as {inSync: boolean; files: Array<{key: string; version: number}>}
    assert.equal(result.inSync, true)
    assert.deepEqual(result.files.map((file) => [file.key, file.version]), [['game/conf.ini', 1], ['game/map.bin', 1]])
    assert.match(again.stderr, / info {2}ZooKeeper session established/)
  })

  it('--once --dry-run prints the diffs, exits 8 and touches nothing; once the files agree it exits 0', async () => {
    const work = tempDir()
    const conf = join(work, 'conf.ini')
    const fresh = join(work, 'fresh.ini')
    const marker = join(work, 'reloaded')
    const cacheDir = join(work, 'cache')
    writeFileSync(conf, '[game]\nplayers=50\n') // managed by hand until now
    const past = new Date('2024-01-01T00:00:00Z')
    utimesSync(conf, past, past)
    await push(serve.url, 'dry1', 'game/conf.ini', '[game]\nplayers=100\n')
    await push(serve.url, 'dry1', 'game/fresh.ini', 'x=1\n')
    const files = [
      {key: 'game/conf.ini', dest: conf, check: `touch ${marker}.check`, reload: `touch ${marker}`},
      {key: 'game/fresh.ini', dest: fresh, reload: `touch ${marker}`},
    ]
    const config = writeAgentConfig(work, {source: `zk://${zk.connect}/stconf`, env: 'dry1', host: 'gs-dry', files})

    const dry = await runCli(['agent', '--config', config, '--once', '--dry-run'])
    assert.equal(dry.code, 8, `exit 8 when something would change: ${dry.stdout}${dry.stderr}`)
    const out = dry.stdout.split('\n')
    assert.ok(out.includes(`game/conf.ini v1 -> ${conf}: would change, +1 -1 lines`), dry.stdout)
    for (const line of [`--- ${conf} (on disk)`, '+++ game/conf.ini v1 (center)', '-players=50', '+players=100']) assert.ok(out.includes(line), `${line} in:\n${dry.stdout}`)
    assert.ok(out.includes(`game/fresh.ini v1 -> ${fresh}: would change, +1 -0 lines (new file)`), dry.stdout)
    assert.ok(out.includes(`--- ${fresh} (new file)`), dry.stdout)
    assert.match(dry.stderr, /^stconf: 2 of 2 files would change - push .* until the dry run reports no change\n$/)

    assert.equal(readFileSync(conf, 'utf8'), '[game]\nplayers=50\n', 'the destination keeps its bytes')
    assert.equal(statSync(conf).mtimeMs, past.getTime(), 'and its mtime')
    assert.ok(!existsSync(fresh), 'a missing destination is not created')
    assert.ok(!existsSync(marker) && !existsSync(`${marker}.check`), 'no check and no reload ran')
    assert.ok(!existsSync(cacheDir), 'not even the cache dir is created')
    assert.equal(await instance('dry1', 'gs-dry'), undefined, 'no instance report')

    const asJson = await runCli(['agent', '--config', config, '--once', '--dry-run', '--json'])
    assert.equal(asJson.code, 8, asJson.stderr)
    const data = JSON.parse(asJson.stdout) as DryRunResult
    assert.equal(data.from, 'center')
    assert.equal(data.wouldChange, 2)
    assert.deepEqual(
      data.files.map((file) => [file.key, file.version, file.outcome, file.newFile, file.change?.added, file.change?.removed]),
      [
        ['game/conf.ini', 1, 'change', false, 1, 1],
        ['game/fresh.ini', 1, 'change', true, 1, 0],
      ],
    )
    assert.match(data.files[0].change?.diff ?? '', /^\+players=100$/m)

    // Fix the file by hand, let the center decide the new one: the next dry run reports no change.
    writeFileSync(conf, '[game]\nplayers=100\n')
    writeFileSync(fresh, 'x=1\n')
    const inSync = await runCli(['agent', '--config', config, '--once', '--dry-run'])
    assert.equal(inSync.code, 0, `${inSync.stdout}${inSync.stderr}`)
    assert.match(inSync.stdout, /game\/conf\.ini v1 -> \S+: no change\n.*game\/fresh\.ini v1 -> \S+: no change\nno file would change\n$/s)
    assert.ok(!existsSync(marker) && !existsSync(cacheDir))

    // Through serve over HTTP too; a dry run never withdraws the report of the agent it previews.
    const beat = {host: 'gs-dry', pid: 1, agentVersion: 't', startedAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', files: [], intervalMs: 60_000}
    const put = await fetch(`${serve.url}/api/v1/instances/dry1/gs-dry`, {
      method: 'PUT',
      headers: {authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json'},
      body: JSON.stringify(beat),
    })
    assert.equal(put.status, 200)
    const httpConfig = join(work, 'agent-http.json')
    writeFileSync(httpConfig, JSON.stringify({source: serve.url, token: ADMIN_TOKEN, env: 'dry1', host: 'gs-dry', cacheDir, files}))
    const overHttp = await runCli(['agent', '--config', httpConfig, '--once', '--dry-run'])
    assert.equal(overHttp.code, 0, `${overHttp.stdout}${overHttp.stderr}`)
    assert.match(overHttp.stdout, /^dry run against http:.*\nno file would change\n$/s)
    const status = JSON.parse((await cli(['status', '--env', 'dry1', '--json'])).stdout) as StatusRow[]
    assert.deepEqual(status.map((row) => row.host), ['gs-dry'], 'the heartbeat of gs-dry is still there')
  })

  it('--dry-run with the center unreachable compares with the cache and says so', async () => {
    const work = tempDir()
    const conf = join(work, 'conf.ini')
    await push(serve.url, 'dry2', 'game/conf.ini', 'rate=1\n')
    const files = [{key: 'game/conf.ini', dest: conf}]
    const live = writeAgentConfig(work, {source: `zk://${zk.connect}/stconf`, env: 'dry2', host: 'gs-cache', files})
    assert.equal((await runCli(['agent', '--config', live, '--once'])).code, 0)
    writeFileSync(conf, 'rate=9\n') // someone edits the file while the center is away

    const dead = join(work, 'agent-dead.json')
    writeFileSync(dead, JSON.stringify({...JSON.parse(readFileSync(live, 'utf8')), source: `zk://127.0.0.1:${await freePort()}/stconf`}))
    const dry = await runCli(['agent', '--config', dead, '--once', '--dry-run', '--once-timeout', '1'])
    assert.equal(dry.code, 8, `${dry.stdout}${dry.stderr}`)
    assert.match(dry.stdout, /^dry run: the center is unreachable \(.*\); comparing with the versions this agent applied last \(its cache\)$/m)
    assert.ok(dry.stdout.split('\n').includes(`game/conf.ini v1 -> ${conf}: would change, +1 -1 lines`), dry.stdout)
    assert.ok(dry.stdout.split('\n').includes('+++ game/conf.ini v1 (cache)'), dry.stdout)
    assert.equal(readFileSync(conf, 'utf8'), 'rate=9\n')
  })
})
