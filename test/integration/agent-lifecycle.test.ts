// The agent's life cycle with real processes: SIGHUP re-reads the config, --once exit codes, an
// invalid config at start, --daemon with pid and log files, the http heartbeat (a killed agent is
// shown offline), and SIGTERM in the middle of a burst of pushes.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {countLines, logLines, PollProbe, push, readText, useAgentRig, writeAgentConfig, type AgentSetup} from '../helpers/agent-harness.js'
import {alive} from '../helpers/cleanup.js'
import {ADMIN_TOKEN, spawnCli, status, tempDir, waitUntil, type Proc} from '../helpers/cli.js'
import {freePort} from '../helpers/zk-server.js'

const LONG = 60_000 // generous: the CI machine is shared and noisy

describe('agent life cycle (real ZooKeeper, real serve, real agent processes)', () => {
  const rig = useAgentRig({zk: true, serve: true, client: {sessionTimeoutMs: 30_000}})
  const reloadLogged = (agent: Proc, msg: string) => waitUntil(`"${msg}" logged`, () => logLines(agent.output).find((line) => line.msg.includes(msg)), LONG)

  it('SIGHUP applies a file added to the config and logs the reload', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    const b = join(dir, 'b.ini')
    await push(rig.serve.url, 'hup-add', 'game/a.ini', 'a=1\n')
    await push(rig.serve.url, 'hup-add', 'game/b.ini', 'b=1\n')
    const setup = {env: 'hup-add', host: 'hup-add-1', pollInterval: '500ms'}
    const agent = rig.agent(dir, {...setup, files: [{key: 'game/a.ini', dest: a}]})
    await waitUntil('a.ini applied', () => readText(a) === 'a=1\n', LONG)
    assert.equal(readText(b), undefined, 'b.ini is not in the config yet')
    writeAgentConfig(dir, {...setup, source: rig.source(), files: [{key: 'game/a.ini', dest: a}, {key: 'game/b.ini', dest: b}]})
    agent.child.kill('SIGHUP')
    await waitUntil('b.ini applied after SIGHUP', () => readText(b) === 'b=1\n', LONG)
    await reloadLogged(agent, 'config reloaded')
    assert.ok(agent.running)
  })

  it('a version that failed its check stays failed across SIGHUP and is not checked again', async () => {
    const dir = tempDir()
    const c = join(dir, 'c.ini')
    const checks = join(dir, 'checks.log')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await push(rig.serve.url, 'hup-failed', 'game/c.ini', 'broken\n')
    await push(rig.serve.url, 'hup-failed', 'game/b.ini', 'b=1\n')
    await probe.publish(rig.serve.url, 'hup-failed')
    const setup = {env: 'hup-failed', host: 'hup-failed-1', pollInterval: '300ms'}
    const fileC = {key: 'game/c.ini', dest: c, check: `echo x >> ${checks}; grep -q good {{path}}`}
    const agent = rig.agent(dir, {...setup, files: [fileC, probe.file]})
    await waitUntil('c.ini reported check-failed', async () => (await rig.instance('hup-failed', 'hup-failed-1'))?.files.find((f) => f.key === 'game/c.ini')?.status === 'check-failed', LONG)
    // The new config adds b.ini, so that its report shows the reload went through.
    writeAgentConfig(dir, {...setup, source: rig.source(), files: [fileC, {key: 'game/b.ini', dest: join(dir, 'b.ini')}, probe.file]})
    agent.child.kill('SIGHUP')
    const reloaded = await waitUntil('the report of the new config', async () => {
      const report = await rig.instance('hup-failed', 'hup-failed-1')
      return report?.files.find((f) => f.key === 'game/b.ini')?.version === 1 && report
    }, LONG)
    const failedC = reloaded.files.find((f) => f.key === 'game/c.ini')!
    assert.equal(failedC.status, 'check-failed')
    assert.match(failedC.error ?? '', /version 1: check failed/)
    await probe.polls()
    assert.equal(countLines(checks), 1, 'the failed version of c.ini was not checked again')
    assert.equal(readText(c), undefined)
  })

  it('an invalid config on SIGHUP is one error log line naming each mistake, and the old config keeps running', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    await push(rig.serve.url, 'hup-invalid', 'game/a.ini', 'a=1\n')
    const setup = {env: 'hup-invalid', host: 'hup-invalid-1', pollInterval: '500ms'}
    const agent = rig.agent(dir, {...setup, files: [{key: 'game/a.ini', dest: a}]})
    await waitUntil('a.ini applied', () => readText(a) === 'a=1\n', LONG)
    // Two mistakes; still one log line.
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({...setup, source: rig.source(), cacheDir: join(dir, 'cache'), bogus: 1, files: [{key: 'game/a.ini', dest: 'relative/a.ini'}]}))
    agent.child.kill('SIGHUP')
    const failed = await reloadLogged(agent, 'config reload failed')
    assert.equal(failed.level, 'error')
    assert.match(String(failed.error), /files\[0\]\.dest/)
    assert.match(String(failed.error), /bogus/)
    await push(rig.serve.url, 'hup-invalid', 'game/a.ini', 'a=2\n')
    await waitUntil('a push applied with the old config', () => readText(a) === 'a=2\n', LONG)
    assert.ok(agent.running, 'an invalid config on SIGHUP does not stop the agent')
    assert.equal(readText(join(dir, 'relative', 'a.ini')), undefined)
    const mentions = agent.output.split('\n').filter((line) => line.includes('config reload failed'))
    assert.equal(mentions.length, 1, `one line about the invalid config:\n${agent.output}`)
  })

  it('SIGHUP with a config that is valid but cannot start (cacheDir not creatable): logged, the old config keeps running', async () => {
    const dir = tempDir()
    const a = join(dir, 'a.ini')
    await push(rig.serve.url, 'hup2', 'game/a.ini', 'a=1\n')
    const setup = {source: rig.source(), env: 'hup2', host: 'hup2-1', pollInterval: '500ms', files: [{key: 'game/a.ini', dest: a}]}
    const agent = rig.agent(dir, setup)
    await waitUntil('a.ini applied', () => readText(a) === 'a=1\n', LONG)
    writeFileSync(join(dir, 'plain-file'), '')
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({...setup, cacheDir: join(dir, 'plain-file', 'cache')}))
    agent.child.kill('SIGHUP')
    const failed = await reloadLogged(agent, 'config reload failed')
    assert.match(String(failed.error), /^cacheDir: cannot create .*plain-file/)
    await push(rig.serve.url, 'hup2', 'game/a.ini', 'a=2\n')
    await waitUntil('a push applied with the old config', () => readText(a) === 'a=2\n', LONG)
    await waitUntil('the instance report of the old config', async () => (await rig.instance('hup2', 'hup2-1'))?.files[0]?.version === 2, LONG)
    assert.ok(agent.running)
  })

  /** `stconf agent --once` with this config, to its exit. */
  const once = (dir: string, setup: AgentSetup, extra: string[] = []) =>
    rig.track(spawnCli(['agent', '--once', ...extra, '--config', writeAgentConfig(dir, setup)]))

  it('--once exits 0 when every file is in sync, and leaves no instance node behind', async () => {
    const dir = tempDir()
    const [a, b] = [join(dir, 'a.ini'), join(dir, 'b.ini')]
    await push(rig.serve.url, 'once-ok', 'game/a.ini', 'a=1\n')
    await push(rig.serve.url, 'once-ok', 'game/b.ini', 'b=1\n')
    const inSync = once(dir, {source: rig.source(), env: 'once-ok', host: 'once-1', files: [{key: 'game/a.ini', dest: a}, {key: 'game/b.ini', dest: b}]})
    assert.equal(await inSync.exited, 0, inSync.output)
    assert.equal(readText(a), 'a=1\n')
    assert.equal(readText(b), 'b=1\n')
    assert.equal(await rig.instance('once-ok', 'once-1'), undefined)
  })

  it('--once exits 7 when a check fails, and still applies the other files', async () => {
    const dir = tempDir()
    const c = join(dir, 'c.ini')
    await push(rig.serve.url, 'once-fail', 'game/a.ini', 'a=1\n')
    await push(rig.serve.url, 'once-fail', 'game/c.ini', 'not good\n')
    const files = [{key: 'game/a.ini', dest: join(dir, 'a.ini')}, {key: 'game/c.ini', dest: c, check: 'grep -q good-config {{path}}'}]
    const failing = once(dir, {source: rig.source(), env: 'once-fail', host: 'once-2', files})
    assert.equal(await failing.exited, 7, failing.output)
    assert.equal(readText(c), undefined, 'the file that failed its check is not written')
    assert.equal(readText(join(dir, 'a.ini')), 'a=1\n', 'the other file is applied')
    assert.match(failing.output, /game\/c\.ini.*check-failed/)
  })

  for (const kind of ['zk', 'http'] as const) {
    it(`--once exits 6 when the ${kind} center cannot be reached, and touches no file`, async () => {
      // Nothing listens on the port.
      const unreachable = kind === 'zk' ? `zk://127.0.0.1:${await freePort()}/stconf` : `http://127.0.0.1:${await freePort()}`
      const dir = tempDir()
      const d = join(dir, 'd.ini')
      writeFileSync(d, 'local\n')
      const before = statSync(d)
      const down = once(dir, {source: unreachable, token: ADMIN_TOKEN, env: 'once', host: 'once-3', files: [{key: 'game/a.ini', dest: d}]}, ['--once-timeout', '2'])
      assert.equal(await down.exited, 6, down.output)
      assert.equal(readText(d), 'local\n', 'the file is untouched')
      assert.equal(statSync(d).mtimeMs, before.mtimeMs)
      assert.equal(statSync(d).ino, before.ino)
      assert.deepEqual(readdirSync(dir).sort(), ['agent.json', 'cache', 'd.ini'], 'no other file beside it')
    })
  }

  /** A config with five mistakes (env missing) in a fresh dir. */
  function invalidConfig(): {dir: string; config: string; fields: string[]} {
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
    return {dir, config, fields: ['source', 'env', 'cacheDir', 'pollInterval', 'colour', 'files[0].mode']}
  }

  it('an invalid config at start: exit 2, one line per mistake naming the field, nothing written', async () => {
    const {dir, config, fields} = invalidConfig()
    const proc = rig.track(spawnCli(['agent', '--config', config]))
    assert.equal(await proc.exited, 2, proc.output)
    const lines = proc.output.split('\n').filter(Boolean)
    assert.equal(lines.length, fields.length, `one line per mistake:\n${proc.output}`)
    for (const field of fields) {
      assert.equal(lines.filter((line) => line.includes(`${config}: ${field}: `)).length, 1, `a line names ${field}:\n${proc.output}`)
    }

    assert.deepEqual(readdirSync(dir), ['agent.yml'], 'nothing written')
    assert.equal(existsSync(join(process.cwd(), 'relative')), false)
  })

  it('--daemon validates the config before detaching: the same exit and lines, no pid or log file', async () => {
    const {dir, config} = invalidConfig()
    const foreground = rig.track(spawnCli(['agent', '--config', config]))
    assert.equal(await foreground.exited, 2, foreground.output)
    const daemon = rig.track(spawnCli(['agent', '--config', config, '--daemon', '--pid-file', join(dir, 'agent.pid'), '--log-file', join(dir, 'agent.log')]))
    assert.equal(await daemon.exited, 2, daemon.output)
    assert.equal(daemon.output, foreground.output)
    assert.deepEqual(readdirSync(dir), ['agent.yml'], 'nothing written by --daemon')
  })

  it('a valid config whose cacheDir cannot be created: exit 2 with one line naming cacheDir', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'plain-file'), '')
    const config = join(dir, 'agent.json')
    writeFileSync(config, JSON.stringify({source: 'http://127.0.0.1:1', token: 't', env: 'prod', cacheDir: join(dir, 'plain-file', 'cache'), files: [{key: 'game/a.ini', dest: join(dir, 'a.ini')}]}))
    const uncreatable = rig.track(spawnCli(['agent', '--config', config]))
    assert.equal(await uncreatable.exited, 2, uncreatable.output)
    assert.match(uncreatable.output, /^stconf: cacheDir: cannot create \S+plain-file\S+ \(ENOTDIR\)\n$/)
    assert.deepEqual(readdirSync(dir).sort(), ['agent.json', 'plain-file'])
  })

  /** `stconf agent --daemon` on `env`, once it has applied version 1 of game/conf.ini. */
  async function startDaemon(env: string) {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const pidFile = join(dir, 'agent.pid')
    const logFile = join(dir, 'agent.log')
    await push(rig.serve.url, env, 'game/conf.ini', 'd=1\n')
    const config = writeAgentConfig(dir, {source: rig.source(), env, host: `${env}-1`, files: [{key: 'game/conf.ini', dest}]})
    const starter = rig.track(spawnCli(['agent', '--config', config, '--daemon', '--pid-file', pidFile, '--log-file', logFile, '--log-format', 'json']))
    assert.equal(await starter.exited, 0, starter.output)
    const pid = rig.trackDaemon(await waitUntil('the pid file', () => Number(readText(pidFile)?.trim()), LONG))
    await waitUntil('version 1 applied by the daemon', () => readText(dest) === 'd=1\n', LONG)
    return {starter, pid, dest, pidFile, logFile, host: `${env}-1`}
  }

  it('--daemon returns, and the daemon it started applies pushes and writes its log file', async () => {
    const {starter, pid, dest, logFile, host} = await startDaemon('daemon')
    assert.equal(pid, Number(/pid (\d+)/.exec(starter.output)?.[1]), 'the pid it announced')
    assert.notEqual(pid, starter.pid)
    assert.ok(alive(pid))
    const report = await waitUntil('the daemon\'s instance node', () => rig.instance('daemon', host), LONG)
    assert.equal(report.pid, pid)
    await push(rig.serve.url, 'daemon', 'game/conf.ini', 'd=2\n')
    await waitUntil('version 2 applied by the daemon', () => readText(dest) === 'd=2\n', LONG)
    assert.ok(logLines(readText(logFile) ?? '').some((line) => line.msg === 'agent started'), 'the log file gets lines')
  })

  it('SIGTERM stops a daemon cleanly: pid file and instance node removed, its stop logged', async () => {
    const {pid, dest, pidFile, logFile, host} = await startDaemon('daemon-stop')
    await waitUntil('the daemon\'s instance node', () => rig.instance('daemon-stop', host), LONG)
    process.kill(pid, 'SIGTERM')
    await waitUntil('the daemon to exit', () => !alive(pid), LONG)
    assert.equal(existsSync(pidFile), false, 'the pid file is removed on a clean stop')
    assert.equal(await rig.instance('daemon-stop', host), undefined, 'the instance node is removed on a clean stop')
    assert.ok(logLines(readText(logFile) ?? '').some((line) => line.msg === 'agent stopped'))
    assert.equal(readText(dest), 'd=1\n')
  })

  it('SIGTERM during a burst of pushes leaves one complete version in place (reloaded) and exits 0', async () => {
    const dir = tempDir()
    const dest = join(dir, 'big.dat')
    const reloads = join(dir, 'reloads.log')
    const versions = new Set<string>()
    const content = (i: number) => `version ${i}\n${String(i % 10).repeat(512 * 1024)}\nend ${i}\n`
    for (let i = 1; i <= 30; i++) versions.add(content(i))
    await push(rig.serve.url, 'burst', 'game/big.dat', content(1))
    const agent = rig.agent(dir, {
      env: 'burst',
      host: 'burst-1',
      pollInterval: '200ms',
      files: [{key: 'game/big.dat', dest, reload: `sleep 0.1; head -n1 ${dest} >> ${reloads}`}],
    })
    await waitUntil('version 1 applied', () => countLines(reloads) === 1, LONG)
    const pushes = (async () => {
      for (let i = 2; i <= 30; i++) await push(rig.serve.url, 'burst', 'game/big.dat', content(i))
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
  const rig = useAgentRig({serve: true})

  it('an agent with nothing to change is heard from again: a heartbeat', async () => {
    const dir = tempDir()
    await push(rig.serve.url, 'beat', 'game/conf.ini', 'h=1\n')
    // pollInterval 1s -> heartbeat clamp(2.5s, 5s, 30s) = 5s
    rig.agent(dir, {env: 'beat', host: 'beat-1', pollInterval: '1s', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
    const first = await waitUntil('the agent reported online', async () => (await status(rig.serve.url, 'beat')).rows.find((row) => row.online && row.version === 1), LONG)
    assert.equal(first.inSync, true)
    await waitUntil('a heartbeat without a change', async () => (await status(rig.serve.url, 'beat')).rows.find((row) => row.online && row.lastSeen !== first.lastSeen), LONG)
  })

  it('a SIGKILLed agent is shown offline after its missed heartbeats, with its last report', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    await push(rig.serve.url, 'beat-kill', 'game/conf.ini', 'h=1\n')
    // pollInterval 1s -> heartbeat 5s; offline after 3 missed = 15s
    const agent = rig.agent(dir, {env: 'beat-kill', host: 'beat-2', pollInterval: '1s', files: [{key: 'game/conf.ini', dest}]})
    await waitUntil('the agent reported online', async () => (await status(rig.serve.url, 'beat-kill')).rows.find((row) => row.online && row.version === 1), LONG)
    await agent.stop('SIGKILL') // no clean stop: no DELETE
    const offline = await waitUntil('the killed agent shown offline', async () => (await status(rig.serve.url, 'beat-kill')).rows.find((row) => row.host === 'beat-2' && !row.online), LONG)
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
      const agent = rig.agent(dir, {source: url, env: 'beat', host: 'beat-503', pollInterval: '10s', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
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
