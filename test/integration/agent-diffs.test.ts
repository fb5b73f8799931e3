// The agent shows what it changes (issue 17): real ZooKeeper, real `stconf serve --zk`, real agent
// processes. One log line per applied file with its diff stat, the diff only with `logDiff: true`,
// the stat in the report and in `stconf status`, and `--once --dry-run`, which changes nothing.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {DryRunResult} from '../../src/lib/agent/dry-run.js'
import type {StatusRow} from '../../src/lib/agent/status.js'
import {logLines, push, useAgentRig, writeAgentConfig, type LogLine} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, tempDir, waitUntil, type Proc} from '../helpers/cli.js'
import {freePort} from '../helpers/zk-server.js'

describe('the agent shows what it changes', () => {
  const rig = useAgentRig({zk: true, serve: true, client: {}})
  const cli = (args: string[]) => runCli([...args, '--server', rig.serve.url, '--token', ADMIN_TOKEN])
  const appliedLines = (agent: Proc, key: string, version: number): LogLine[] =>
    logLines(agent.output).filter((line) => line.msg === 'applied' && line.key === key && line.version === version)

  /** An agent on `env` that has applied version 1 of conf.ini, then version 2 (one changed line, one added). */
  async function secondVersion(env: string, file: {logDiff?: boolean; reload?: string} = {}) {
    const dir = tempDir()
    const conf = join(dir, 'conf.ini')
    await push(rig.serve.url, env, 'game/conf.ini', '[game]\nplayers=50\nmap=forest\n')
    const agent = rig.agent(dir, {env, host: `gs-${env}`, pollInterval: '300ms', files: [{key: 'game/conf.ini', dest: conf, ...file}]})
    await waitUntil('version 1 applied', () => appliedLines(agent, 'game/conf.ini', 1)[0])
    await push(rig.serve.url, env, 'game/conf.ini', '[game]\nplayers=100\nmap=forest\npvp=on\n')
    const line = await waitUntil('the log line of version 2', () => appliedLines(agent, 'game/conf.ini', 2)[0])
    return {agent, conf, line}
  }

  it('logs one line per applied file with its +/- counts and the reload result', async () => {
    const {conf, line} = await secondVersion('diff-stat', {reload: 'true'})
    assert.equal(line.dest, conf)
    assert.deepEqual([line.added, line.removed, line.kind, line.reload, typeof line.reloadMs], [2, 1, 'text', 'ok', 'number'])
  })

  it('logs the diff with logDiff: true', async () => {
    const {line} = await secondVersion('diff-on', {logDiff: true})
    const diff = String(line.diff)
    for (const row of ['-players=50', '+players=100', '+pvp=on', ' map=forest']) assert.ok(diff.split('\n').includes(row), `${row} in the diff:\n${diff}`)
  })

  it('keeps the content out of the log without logDiff', async () => {
    const {agent, line} = await secondVersion('diff-off')
    assert.equal(line.diff, undefined)
    assert.equal(line.reload, 'none')
    assert.ok(!agent.output.includes('players='), agent.output)
  })

  it('the report and `stconf status` carry the diff stat of the last change', async () => {
    await secondVersion('diff-report')
    const report = await waitUntil('the report carries the diff stat', async () => {
      const r = await rig.instance('diff-report', 'gs-diff-report')
      return r?.files[0]?.lastChange?.version === 2 && r
    })
    assert.deepEqual(report.files[0].lastChange, {version: 2, kind: 'text', added: 2, removed: 1, bytesBefore: 29, bytesAfter: 37})
    const table = await cli(['status', '--env', 'diff-report'])
    assert.equal(table.code, 0, table.stderr)
    const [header, ...rows] = table.stdout.trim().split('\n')
    assert.match(header, /^HOST\s+INSTANCE\s+STATE\s+KEY\s+VERSION\s+CHANGE\s+CENTER/)
    assert.ok(rows.some((row) => /^gs-diff-report\s+gs-diff-report\s+ok\s+game\/conf\.ini\s+2\s+\+2 -1\s+2\s+ok/.test(row)), table.stdout)
    const json = await cli(['status', '--env', 'diff-report', '--json'])
    assert.deepEqual((JSON.parse(json.stdout) as StatusRow[])[0].lastChange, {version: 2, kind: 'text', added: 2, removed: 1, bytesBefore: 29, bytesAfter: 37})
  })

  it('a hand edit is put right with a reload, and the log line says what putting it right changed', async () => {
    const {agent, conf} = await secondVersion('diff-repair', {logDiff: true, reload: 'true'})
    writeFileSync(conf, '[game]\nplayers=100\nmap=desert\npvp=on\n')
    const repair = await waitUntil('the hand edit repaired and logged', () => appliedLines(agent, 'game/conf.ini', 2)[1])
    assert.equal(readFileSync(conf, 'utf8'), '[game]\nplayers=100\nmap=forest\npvp=on\n')
    assert.deepEqual([repair.added, repair.removed, repair.reload], [1, 1, 'ok'])
    assert.match(String(repair.diff), /^-map=desert\n\+map=forest$/m)
  })

  it('the text log line of a text file names version, dest, the line counts and the reload result', async () => {
    const dir = tempDir()
    const conf = join(dir, 'conf.ini')
    writeFileSync(conf, 'a=1\nb=2\n')
    await push(rig.serve.url, 'diff-text', 'game/conf.ini', 'a=1\nb=3\nc=4\n')
    const config = writeAgentConfig(dir, {source: rig.source(), env: 'diff-text', host: 'gs-text', files: [{key: 'game/conf.ini', dest: conf, reload: 'true'}]})
    const once = await runCli(['agent', '--config', config, '--once'])
    assert.equal(once.code, 0, once.stderr)
    assert.match(once.stdout, new RegExp(`^\\S+ info  game/conf\\.ini v1 -> ${conf}: \\+2 -1 lines, reload ok in \\d+ ms$`, 'm'))
    assert.doesNotMatch(once.stdout, /^[-+]b=/m, 'no diff without logDiff')
  })

  it('the text log line of a binary file gives the sizes before and after', async () => {
    const dir = tempDir()
    const blob = join(dir, 'map.bin')
    writeFileSync(blob, Buffer.alloc(4096, 0))
    await push(rig.serve.url, 'diff-binary', 'game/map.bin', Buffer.alloc(4120, 0xff))
    const config = writeAgentConfig(dir, {source: rig.source(), env: 'diff-binary', host: 'gs-binary', files: [{key: 'game/map.bin', dest: blob}]})
    const once = await runCli(['agent', '--config', config, '--once'])
    assert.equal(once.code, 0, once.stderr)
    assert.match(once.stdout, new RegExp(`^\\S+ info  game/map\\.bin v1 -> ${blob}: binary, 4,096 -> 4,120 bytes, no reload$`, 'm'))
  })

  it('--once --json prints the result as data on stdout and the log on stderr', async () => {
    const dir = tempDir()
    await push(rig.serve.url, 'once-json', 'game/conf.ini', 'a=1\n')
    await push(rig.serve.url, 'once-json', 'game/map.bin', Buffer.alloc(16, 0xff))
    const files = [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}, {key: 'game/map.bin', dest: join(dir, 'map.bin')}]
    const config = writeAgentConfig(dir, {source: rig.source(), env: 'once-json', host: 'gs-json', files})
    const once = await runCli(['agent', '--config', config, '--once', '--json'])
    assert.equal(once.code, 0, once.stderr)
    const result = JSON.parse(once.stdout) as {inSync: boolean; files: Array<{key: string; version: number}>}
    assert.equal(result.inSync, true)
    assert.deepEqual(result.files.map((file) => [file.key, file.version]), [['game/conf.ini', 1], ['game/map.bin', 1]])
    assert.match(once.stderr, / info {2}ZooKeeper session established/)
  })

  /** A config whose conf.ini (managed by hand until now, an old mtime) and fresh.ini (missing) differ from the center. */
  async function dryRunSetup(env: string) {
    const dir = tempDir()
    const conf = join(dir, 'conf.ini')
    const fresh = join(dir, 'fresh.ini')
    const marker = join(dir, 'reloaded')
    writeFileSync(conf, '[game]\nplayers=50\n')
    const past = new Date('2024-01-01T00:00:00Z')
    utimesSync(conf, past, past)
    await push(rig.serve.url, env, 'game/conf.ini', '[game]\nplayers=100\n')
    await push(rig.serve.url, env, 'game/fresh.ini', 'x=1\n')
    const files = [
      {key: 'game/conf.ini', dest: conf, check: `touch ${marker}.check`, reload: `touch ${marker}`},
      {key: 'game/fresh.ini', dest: fresh, reload: `touch ${marker}`},
    ]
    const host = `gs-${env}`
    const config = writeAgentConfig(dir, {source: rig.source(), env, host, files})
    return {dir, conf, fresh, marker, past, files, host, config, cacheDir: join(dir, 'cache')}
  }

  it('--once --dry-run prints the diff of each file that would change and exits 8', async () => {
    const {conf, fresh, config} = await dryRunSetup('dry-print')
    const dry = await runCli(['agent', '--config', config, '--once', '--dry-run'])
    assert.equal(dry.code, 8, `exit 8 when something would change: ${dry.stdout}${dry.stderr}`)
    const out = dry.stdout.split('\n')
    assert.ok(out.includes(`game/conf.ini v1 -> ${conf}: would change, +1 -1 lines`), dry.stdout)
    for (const line of [`--- ${conf} (on disk)`, '+++ game/conf.ini v1 (center)', '-players=50', '+players=100']) assert.ok(out.includes(line), `${line} in:\n${dry.stdout}`)
    assert.ok(out.includes(`game/fresh.ini v1 -> ${fresh}: would change, +1 -0 lines (new file)`), dry.stdout)
    assert.ok(out.includes(`--- ${fresh} (new file)`), dry.stdout)
    assert.match(dry.stderr, /^stconf: 2 of 2 files would change - push .* until the dry run reports no change\n$/)
  })

  it('--once --dry-run touches nothing: no file, mtime, check, reload, cache dir or report', async () => {
    const {conf, fresh, marker, past, config, cacheDir, host} = await dryRunSetup('dry-touch')
    assert.equal((await runCli(['agent', '--config', config, '--once', '--dry-run'])).code, 8)
    assert.equal(readFileSync(conf, 'utf8'), '[game]\nplayers=50\n', 'the destination keeps its bytes')
    assert.equal(statSync(conf).mtimeMs, past.getTime(), 'and its mtime')
    assert.ok(!existsSync(fresh), 'a missing destination is not created')
    assert.ok(!existsSync(marker) && !existsSync(`${marker}.check`), 'no check and no reload ran')
    assert.ok(!existsSync(cacheDir), 'not even the cache dir is created')
    assert.equal(await rig.instance('dry-touch', host), undefined, 'no instance report')
  })

  it('--once --dry-run --json gives each file\'s outcome and change as data', async () => {
    const {config} = await dryRunSetup('dry-json')
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
  })

  it('--once --dry-run exits 0 once the files agree with the center, and still runs nothing', async () => {
    const {conf, fresh, marker, cacheDir, config} = await dryRunSetup('dry-agree')
    writeFileSync(conf, '[game]\nplayers=100\n')
    writeFileSync(fresh, 'x=1\n')
    const inSync = await runCli(['agent', '--config', config, '--once', '--dry-run'])
    assert.equal(inSync.code, 0, `${inSync.stdout}${inSync.stderr}`)
    assert.match(inSync.stdout, /game\/conf\.ini v1 -> \S+: no change\n.*game\/fresh\.ini v1 -> \S+: no change\nno file would change\n$/s)
    assert.ok(!existsSync(marker) && !existsSync(cacheDir))
  })

  it('a dry run over HTTP never withdraws the report of the agent it previews', async () => {
    const {dir, conf, fresh, files, host, cacheDir} = await dryRunSetup('dry-http')
    writeFileSync(conf, '[game]\nplayers=100\n')
    writeFileSync(fresh, 'x=1\n')
    const beat = {host, pid: 1, agentVersion: 't', startedAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', files: [], intervalMs: 60_000}
    const put = await fetch(`${rig.serve.url}/api/v1/instances/dry-http/${host}`, {
      method: 'PUT',
      headers: {authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json'},
      body: JSON.stringify(beat),
    })
    assert.equal(put.status, 200)
    const httpConfig = join(dir, 'agent-http.json')
    writeFileSync(httpConfig, JSON.stringify({source: rig.serve.url, token: ADMIN_TOKEN, env: 'dry-http', host, cacheDir, files}))
    const overHttp = await runCli(['agent', '--config', httpConfig, '--once', '--dry-run'])
    assert.equal(overHttp.code, 0, `${overHttp.stdout}${overHttp.stderr}`)
    assert.match(overHttp.stdout, /^dry run against http:.*\nno file would change\n$/s)
    const status = JSON.parse((await cli(['status', '--env', 'dry-http', '--json'])).stdout) as StatusRow[]
    assert.deepEqual(status.map((row) => row.host), [host], `the heartbeat of ${host} is still there`)
  })

  it('--dry-run with the center unreachable compares with the cache and says so', async () => {
    const work = tempDir()
    const conf = join(work, 'conf.ini')
    await push(rig.serve.url, 'dry-cache', 'game/conf.ini', 'rate=1\n')
    const files = [{key: 'game/conf.ini', dest: conf}]
    const live = writeAgentConfig(work, {source: rig.source(), env: 'dry-cache', host: 'gs-cache', files})
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
