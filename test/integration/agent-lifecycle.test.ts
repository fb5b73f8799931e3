// The agent's life cycle with real processes: SIGHUP re-reads the config, --once exit codes, an
// invalid config at start, --daemon with pid and log files, the http heartbeat (a killed agent is
// shown offline), and SIGTERM in the middle of a burst of pushes.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {countLines, logLines, push, readInstance, readText, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {alive} from '../helpers/cleanup.js'
import {ADMIN_TOKEN, spawnCli, startServe, status, tempDir, waitUntil, type Proc, type ServeHandle} from '../helpers/cli.js'
import {connectZk, freePort, startZk, type TestZk} from '../helpers/zk-server.js'

const LONG = 60_000 // generous: the CI machine is shared and noisy

describe('agent life cycle (real ZooKeeper, real serve, real agent processes)', () => {
  let zk: TestZk
  let serve: ServeHandle
  let client: ZkClient
  const agents: Proc[] = []
  const daemons: number[] = []

  before(async () => {
    zk = await startZk()
    serve = await startServe({zk: zk.connect, zkSessionTimeoutMs: 4000})
    client = await connectZk(zk, {sessionTimeoutMs: 30_000})
  })

  after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL')
    for (const pid of daemons) if (alive(pid)) process.kill(pid, 'SIGKILL')
    client.close()
    await serve.stop()
    await zk.destroy()
  })

  const source = () => `zk://${zk.connect}/stconf`
  const instance = async (env: string, host: string) => (await readInstance(client, env, host))?.report

  it('SIGHUP re-reads the config: a new file is applied, a failed version stays failed; an invalid file is one log line and the old config stays', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    const b = join(dir, 'b.ini')
    const c = join(dir, 'c.ini')
    const checks = join(dir, 'checks.log')
    await push(serve.url, 'hup', 'game/a.ini', 'a=1\n')
    await push(serve.url, 'hup', 'game/b.ini', 'b=1\n')
    await push(serve.url, 'hup', 'game/c.ini', 'broken\n')
    const setup = {source: source(), env: 'hup', host: 'hup-1', pollInterval: '500ms'}
    const fileA = {key: 'game/a.ini', dest: a}
    const fileC = {key: 'game/c.ini', dest: c, check: `echo x >> ${checks}; grep -q good {{path}}`}
    const config = writeAgentConfig(dir, {...setup, files: [fileA, fileC]})
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('a.ini applied', () => readText(a) === 'a=1\n', LONG)
    await waitUntil('c.ini reported check-failed', async () => (await instance('hup', 'hup-1'))?.files.find((f) => f.key === 'game/c.ini')?.status === 'check-failed', LONG)
    assert.equal(readText(b), undefined, 'b.ini is not in the config yet')
    assert.equal(countLines(checks), 1)

    writeAgentConfig(dir, {...setup, files: [fileA, {key: 'game/b.ini', dest: b}, fileC]})
    agent.child.kill('SIGHUP')
    await waitUntil('b.ini applied after SIGHUP', () => readText(b) === 'b=1\n', LONG)
    await waitUntil('the reload logged', () => logLines(agent.output).some((line) => line.msg === 'config reloaded'), LONG)
    assert.ok(agent.running)
    const reloaded = await waitUntil('the report of the new config', async () => {
      const report = await instance('hup', 'hup-1')
      return report?.files.find((f) => f.key === 'game/b.ini')?.version === 1 && report
    }, LONG)
    const failedC = reloaded.files.find((f) => f.key === 'game/c.ini')!
    assert.equal(failedC.status, 'check-failed', 'the failed version is still reported as failed after SIGHUP')
    assert.match(failedC.error ?? '', /version 1: check failed/)

    // Two mistakes; still one log line, and the old (second) config keeps running.
    writeFileSync(config, JSON.stringify({...setup, cacheDir: join(dir, 'cache'), bogus: 1, files: [{key: 'game/a.ini', dest: 'relative/a.ini'}]}))
    agent.child.kill('SIGHUP')
    const failed = await waitUntil('the invalid config logged', () => logLines(agent.output).find((line) => line.msg.includes('config reload failed')), LONG)
    assert.equal(failed.level, 'error')
    assert.match(String(failed.error), /files\[0\]\.dest/)
    assert.match(String(failed.error), /bogus/)
    assert.ok(agent.running, 'an invalid config on SIGHUP does not stop the agent')

    await push(serve.url, 'hup', 'game/a.ini', 'a=2\n')
    await push(serve.url, 'hup', 'game/b.ini', 'b=2\n')
    await waitUntil('pushes applied with the old config', () => readText(a) === 'a=2\n' && readText(b) === 'b=2\n', LONG)
    assert.equal(readText(join(dir, 'relative', 'a.ini')), undefined)
    const mentions = agent.output.split('\n').filter((line) => line.includes('config reload failed'))
    assert.equal(mentions.length, 1, `one line about the invalid config:\n${agent.output}`)
    assert.equal(countLines(checks), 1, 'the failed version of c.ini was not checked again (not across SIGHUPs either)')
    assert.equal(readText(c), undefined)
    await push(serve.url, 'hup', 'game/c.ini', 'good\n')
    await waitUntil('a newer c.ini applied', () => readText(c) === 'good\n', LONG)
    assert.equal(await agent.stop('SIGTERM'), 0)
  })

  it('SIGHUP with a config that is valid but cannot start (cacheDir not creatable): logged, the old config keeps running', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    await push(serve.url, 'hup2', 'game/a.ini', 'a=1\n')
    const setup = {source: source(), env: 'hup2', host: 'hup2-1', pollInterval: '500ms', files: [{key: 'game/a.ini', dest: a}]}
    const config = writeAgentConfig(dir, setup)
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('a.ini applied', () => readText(a) === 'a=1\n', LONG)
    writeFileSync(join(dir, 'plain-file'), '')
    writeFileSync(config, JSON.stringify({...setup, cacheDir: join(dir, 'plain-file', 'cache')}))
    agent.child.kill('SIGHUP')
    const failed = await waitUntil('the failed reload logged', () => logLines(agent.output).find((line) => line.msg.includes('config reload failed')), LONG)
    assert.match(String(failed.error), /^cacheDir: cannot create .*plain-file/)
    await push(serve.url, 'hup2', 'game/a.ini', 'a=2\n')
    await waitUntil('a push applied with the old config', () => readText(a) === 'a=2\n', LONG)
    await waitUntil('the instance report of the old config', async () => (await instance('hup2', 'hup2-1'))?.files[0]?.version === 2, LONG)
    assert.ok(agent.running)
    assert.equal(await agent.stop('SIGTERM'), 0)
  })

  it('--once: 0 when every file is in sync, 7 when a check fails, 6 when the center cannot be reached (no file touched)', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    const b = join(dir, 'b.ini')
    await push(serve.url, 'once', 'game/a.ini', 'a=1\n')
    await push(serve.url, 'once', 'game/b.ini', 'b=1\n')
    const inSync = spawnCli(['agent', '--once', '--config', writeAgentConfig(dir, {source: source(), env: 'once', host: 'once-1', files: [{key: 'game/a.ini', dest: a}, {key: 'game/b.ini', dest: b}]})])
    assert.equal(await inSync.exited, 0, inSync.output)
    assert.equal(readText(a), 'a=1\n')
    assert.equal(readText(b), 'b=1\n')
    assert.equal(await instance('once', 'once-1'), undefined, '--once leaves no instance node behind')

    const dir2 = tempDir()
    const c = join(dir2, 'c.ini')
    await push(serve.url, 'once', 'game/c.ini', 'not good\n')
    const failing = spawnCli([
      'agent',
      '--once',
      '--config',
      writeAgentConfig(dir2, {source: source(), env: 'once', host: 'once-2', files: [{key: 'game/a.ini', dest: join(dir2, 'a.ini')}, {key: 'game/c.ini', dest: c, check: 'grep -q good-config {{path}}'}]}),
    ])
    assert.equal(await failing.exited, 7, failing.output)
    assert.equal(readText(c), undefined, 'the file that failed its check is not written')
    assert.equal(readText(join(dir2, 'a.ini')), 'a=1\n', 'the other file is applied')
    assert.match(failing.output, /game\/c\.ini.*check-failed/)

    // Nothing listens on the port: the center cannot be reached.
    for (const unreachable of [`zk://127.0.0.1:${await freePort()}/stconf`, `http://127.0.0.1:${await freePort()}`]) {
      const dir3 = tempDir()
      const d = join(dir3, 'd.ini')
      writeFileSync(d, 'local\n')
      const before = statSync(d)
      const down = spawnCli([
        'agent',
        '--once',
        '--once-timeout',
        '2',
        '--config',
        writeAgentConfig(dir3, {source: unreachable, token: ADMIN_TOKEN, env: 'once', host: 'once-3', files: [{key: 'game/a.ini', dest: d}]}),
      ])
      assert.equal(await down.exited, 6, `${unreachable}: ${down.output}`)
      assert.equal(readText(d), 'local\n', `${unreachable}: the file is untouched`)
      assert.equal(statSync(d).mtimeMs, before.mtimeMs)
      assert.equal(statSync(d).ino, before.ino)
      assert.deepEqual(readdirSync(dir3).sort(), ['agent.json', 'cache', 'd.ini'], 'no other file beside it')
    }
  })

  it('an invalid config at start: exit 2, one line per mistake naming the field, nothing written', async () => {
    const dir = tempDir()
    const config = join(dir, 'agent.yml')
    writeFileSync(
      config,
      [
        `source: ftp://example.com`,
        'cacheDir: relative/cache',
        'pollInterval: soon',
        'colour: blue',
        'files:',
        `  - key: game/a.ini`,
        `    dest: ${join(dir, 'a.ini')}`,
        '    mode: "999"',
        '', // env missing
      ].join('\n'),
    )
    const proc = spawnCli(['agent', '--config', config])
    assert.equal(await proc.exited, 2, proc.output)
    const lines = proc.output.split('\n').filter(Boolean)
    const fields = ['source', 'env', 'cacheDir', 'pollInterval', 'colour', 'files[0].mode']
    assert.equal(lines.length, fields.length, `one line per mistake:\n${proc.output}`)
    for (const field of fields) {
      assert.equal(lines.filter((line) => line.includes(`${config}: ${field}: `)).length, 1, `a line names ${field}:\n${proc.output}`)
    }

    assert.deepEqual(readdirSync(dir), ['agent.yml'], 'nothing written')
    assert.equal(existsSync(join(process.cwd(), 'relative')), false)

    // --daemon validates before detaching: the same exit and lines, no daemon, no pid or log file.
    const daemon = spawnCli(['agent', '--config', config, '--daemon', '--pid-file', join(dir, 'agent.pid'), '--log-file', join(dir, 'agent.log')])
    assert.equal(await daemon.exited, 2, daemon.output)
    assert.equal(daemon.output, proc.output)
    assert.deepEqual(readdirSync(dir), ['agent.yml'], 'nothing written by --daemon either')

    // Valid, but its cacheDir cannot be created: exit 2 with one line naming cacheDir (not "internal error").
    const dir2 = tempDir()
    writeFileSync(join(dir2, 'plain-file'), '')
    const config2 = join(dir2, 'agent.json')
    writeFileSync(config2, JSON.stringify({source: 'http://127.0.0.1:1', token: 't', env: 'prod', cacheDir: join(dir2, 'plain-file', 'cache'), files: [{key: 'game/a.ini', dest: join(dir2, 'a.ini')}]}))
    const uncreatable = spawnCli(['agent', '--config', config2])
    assert.equal(await uncreatable.exited, 2, uncreatable.output)
    assert.match(uncreatable.output, /^stconf: cacheDir: cannot create \S+plain-file\S+ \(ENOTDIR\)\n$/)
    assert.deepEqual(readdirSync(dir2).sort(), ['agent.json', 'plain-file'])
  })

  it('--daemon --pid-file --log-file: returns, the daemon applies pushes and logs; SIGTERM stops it cleanly', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const pidFile = join(dir, 'agent.pid')
    const logFile = join(dir, 'agent.log')
    await push(serve.url, 'daemon', 'game/conf.ini', 'd=1\n')
    const config = writeAgentConfig(dir, {source: source(), env: 'daemon', host: 'daemon-1', files: [{key: 'game/conf.ini', dest}]})
    const starter = spawnCli(['agent', '--config', config, '--daemon', '--pid-file', pidFile, '--log-file', logFile, '--log-format', 'json'])
    assert.equal(await starter.exited, 0, starter.output)
    const announced = Number(/pid (\d+)/.exec(starter.output)?.[1])
    const pid = await waitUntil('the pid file', () => Number(readText(pidFile)?.trim()), LONG)
    daemons.push(pid)
    assert.equal(pid, announced)
    assert.notEqual(pid, starter.pid)
    assert.ok(alive(pid))

    await waitUntil('version 1 applied by the daemon', () => readText(dest) === 'd=1\n', LONG)
    const report = await waitUntil('the daemon\'s instance node', () => instance('daemon', 'daemon-1'), LONG)
    assert.equal(report.pid, pid)
    await push(serve.url, 'daemon', 'game/conf.ini', 'd=2\n')
    await waitUntil('version 2 applied by the daemon', () => readText(dest) === 'd=2\n', LONG)
    assert.ok(logLines(readText(logFile) ?? '').some((line) => line.msg === 'agent started'), 'the log file gets lines')

    process.kill(pid, 'SIGTERM')
    await waitUntil('the daemon to exit', () => !alive(pid), LONG)
    assert.equal(existsSync(pidFile), false, 'the pid file is removed on a clean stop')
    assert.equal(await instance('daemon', 'daemon-1'), undefined, 'the instance node is removed on a clean stop')
    assert.ok(logLines(readText(logFile) ?? '').some((line) => line.msg === 'agent stopped'))
    assert.equal(readText(dest), 'd=2\n')
  })

  it('SIGTERM during a burst of pushes leaves one complete version in place (reloaded) and exits 0', async () => {
    const dir = tempDir()
    const dest = join(dir, 'big.dat')
    const reloads = join(dir, 'reloads.log')
    const versions = new Set<string>()
    const content = (i: number) => `version ${i}\n${String(i % 10).repeat(512 * 1024)}\nend ${i}\n`
    for (let i = 1; i <= 30; i++) versions.add(content(i))
    await push(serve.url, 'burst', 'game/big.dat', content(1))
    const config = writeAgentConfig(dir, {
      source: source(),
      env: 'burst',
      host: 'burst-1',
      pollInterval: '200ms',
      files: [{key: 'game/big.dat', dest, reload: `sleep 0.1; head -n1 ${dest} >> ${reloads}`}],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 applied', () => countLines(reloads) === 1, LONG)
    const pushes = (async () => {
      for (let i = 2; i <= 30; i++) await push(serve.url, 'burst', 'game/big.dat', content(i))
    })()
    await waitUntil('the burst under way', () => countLines(reloads) >= 3, LONG)
    agent.child.kill('SIGTERM')
    assert.equal(await agent.exited, 0, agent.output)
    await pushes
    const final = readText(dest)!
    assert.ok(versions.has(final), `one complete version in place (got ${final.length} bytes starting ${JSON.stringify(final.slice(0, 12))})`)
    const reloaded = readText(reloads)!.trim().split('\n')
    assert.equal(reloaded.at(-1), final.split('\n')[0], 'the file in place was reloaded before the exit')
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.tmp')),
      [],
      'no candidate left behind',
    )
  })
})

describe('http source heartbeat (embedded-store serve)', () => {
  let serve: ServeHandle
  const agents: Proc[] = []
  before(async () => {
    serve = await startServe()
  })
  after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL')
    await serve.stop()
  })

  it('heartbeats keep the agent online; a SIGKILLed agent is shown online: false after the missed heartbeats', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    await push(serve.url, 'beat', 'game/conf.ini', 'h=1\n')
    // pollInterval 1s -> heartbeat clamp(2.5s, 5s, 30s) = 5s; offline after 3 missed = 15s
    const config = writeAgentConfig(dir, {source: serve.url, token: ADMIN_TOKEN, env: 'beat', host: 'beat-1', pollInterval: '1s', files: [{key: 'game/conf.ini', dest}]})
    const agent = startAgent(config)
    agents.push(agent)
    const first = await waitUntil('the agent reported online', async () => (await status(serve.url, 'beat')).rows.find((row) => row.online && row.version === 1), LONG)
    assert.equal(first.inSync, true)
    // Nothing changes, yet the center hears from the agent again: a heartbeat.
    await waitUntil('a heartbeat without a change', async () => (await status(serve.url, 'beat')).rows.find((row) => row.online && row.lastSeen !== first.lastSeen), LONG)

    await agent.stop('SIGKILL') // no clean stop: no DELETE
    const offline = await waitUntil('the killed agent shown offline', async () => (await status(serve.url, 'beat')).rows.find((row) => row.host === 'beat-1' && !row.online), LONG)
    assert.equal(offline.inSync, false, 'an offline agent is not in sync')
    assert.equal(offline.state, 'offline', 'a missed heartbeat deadline is offline, not stopped')
    assert.equal(offline.version, 1, 'its last report is kept')
    assert.equal(readText(dest), 'h=1\n')
  })

  it('a center that answers 503 (its store down) is not hammered with reports: retries follow the poll and the heartbeat', async () => {
    // A stand-in for a serve whose store is unavailable: every request is a 503, counted.
    const counts = {watch: 0, report: 0}
    const center = createServer((request, response) => {
      if (request.url?.startsWith('/api/v1/watch/')) counts.watch++
      if (request.method === 'PUT' && request.url?.startsWith('/api/v1/instances/')) counts.report++
      request.resume()
      response.writeHead(503, {'content-type': 'application/json'}).end('{"error":"unavailable","message":"store unavailable"}')
    })
    await new Promise<void>((resolve) => center.listen(0, '127.0.0.1', resolve))
    try {
      const dir = tempDir()
      const url = `http://127.0.0.1:${(center.address() as {port: number}).port}`
      const config = writeAgentConfig(dir, {source: url, token: ADMIN_TOKEN, env: 'beat', host: 'beat-2', pollInterval: '10s', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
      const agent = startAgent(config)
      agents.push(agent)
      await waitUntil('a first report attempt', () => counts.report >= 1, LONG)
      // The watch loop backs off 250ms, 500ms, 1s, 2s: five watches take seconds; a report retried
      // in a tight loop meanwhile would be hundreds of requests.
      await waitUntil('five watch attempts', () => counts.watch >= 5, LONG)
      assert.ok(counts.report <= 3, `reports are not retried in a tight loop (${counts.report} PUTs while ${counts.watch} watches)`)
      assert.ok(agent.running)
      assert.equal(await agent.stop('SIGTERM'), 0)
      assert.equal(readText(join(dir, 'conf.ini')), undefined)
    } finally {
      center.close()
      center.closeAllConnections()
    }
  })
})
