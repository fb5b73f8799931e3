// The apply pipeline end to end: real ZooKeeper, real `stconf serve --zk`, real `stconf agent`.
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, statSync, symlinkSync, lstatSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ZkClient} from '../../src/lib/zk/zk-client.js'
import {countLines, PollProbe, push, readInstance, readText, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {startServe, tempDir, waitUntil, type Proc, type ServeHandle} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

describe('stconf agent applies changes (zk source)', () => {
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

  it('applies each change with one reload; identical bytes give no reload; reports; SIGTERM removes the report', async () => {
    const dir = tempDir()
    const dest = join(dir, 'etc', 'conf.ini')
    mkdirSync(join(dir, 'etc'))
    const reloads = join(dir, 'reloads.log')
    await push(serve.url, 'apply1', 'game/conf.ini', 'rate=1\n')
    writeFileSync(dest, 'rate=1\n', {mode: 0o640}) // already equal to version 1
    const config = writeAgentConfig(dir, {
      source: `zk://${zk.connect}/stconf`,
      env: 'apply1',
      host: 'gs-1',
      pollInterval: '300ms',
      files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}`}],
    })
    const agent = startAgent(config)
    agents.push(agent)
    const first = await waitUntil('the report of version 1', async () => (await instance('apply1', 'gs-1'))?.files[0]?.version === 1 && instance('apply1', 'gs-1'))
    assert.equal(first.files[0].status, 'ok')
    assert.equal(first.host, 'gs-1')
    assert.equal(first.pid, agent.pid)
    assert.equal(countLines(reloads), 0, 'bytes equal to the file on disk: no reload')

    await push(serve.url, 'apply1', 'game/conf.ini', 'rate=2\n')
    await waitUntil('version 2 on disk and reloaded', () => readText(dest) === 'rate=2\n' && countLines(reloads) === 1)
    assert.equal(statSync(dest).mode & 0o777, 0o640, 'the old file mode is kept')
    await push(serve.url, 'apply1', 'game/conf.ini', 'rate=3\n')
    await waitUntil('version 3 reloaded', () => countLines(reloads) === 2)
    assert.deepEqual(readFileSync(reloads, 'utf8'), 'rate=2\nrate=3\n', 'the reload ran after the file was in place, once per change')
    const report = await waitUntil('report of version 3', async () => (await instance('apply1', 'gs-1'))?.files[0]?.version === 3 && instance('apply1', 'gs-1'))
    assert.equal(report.files[0].status, 'ok')
    assert.equal(report.files[0].error, null)
    // cache: applied bytes and version, files 0600
    const cacheFiles = join(dir, 'cache', 'apply1', 'files')
    const [entry] = (await import('node:fs')).readdirSync(cacheFiles)
    // The report may leave before the cache write ends (the state in memory is set first, at once).
    await waitUntil('the cache of version 3', () => JSON.parse(readText(join(cacheFiles, entry, 'state.json')) ?? '{}').version === 3)
    assert.equal(readFileSync(join(cacheFiles, entry, 'content'), 'utf8'), 'rate=3\n')
    assert.equal(statSync(join(cacheFiles, entry, 'content')).mode & 0o777, 0o600)

    assert.equal(await agent.stop('SIGTERM'), 0)
    assert.equal(await instance('apply1', 'gs-1'), undefined, 'the instance report is removed on a clean stop')
    assert.equal(readText(dest), 'rate=3\n')
  })

  it('a failing check keeps the old file and is not retried; a newer version is applied', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    const checks = join(dir, 'checks.log')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await push(serve.url, 'check1', 'game/conf.ini', 'good 1\n')
    await probe.publish(serve.url, 'check1')
    const config = writeAgentConfig(dir, {
      source: `zk://${zk.connect}/stconf`,
      env: 'check1',
      host: 'gs-2',
      pollInterval: '200ms',
      files: [{key: 'game/conf.ini', dest, check: `echo x >> ${checks}; grep -q good {{path}}`, reload: `echo r >> ${reloads}`}, probe.file],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 applied', () => readText(dest) === 'good 1\n' && countLines(reloads) === 1)
    await push(serve.url, 'check1', 'game/conf.ini', 'bad 2\n')
    const report = await waitUntil('check-failed report', async () => {
      const r = await instance('check1', 'gs-2')
      return r?.files[0]?.status === 'check-failed' && r
    })
    assert.equal(report.files[0].version, 1, 'the report still says version 1 is in place')
    assert.match(report.files[0].error ?? '', /version 2: check failed/)
    assert.equal(readText(dest), 'good 1\n', 'the old file is kept')
    const checksAfterFailure = countLines(checks)
    await probe.polls() // several polls
    assert.equal(countLines(checks), checksAfterFailure, 'a failed version is not checked again')
    await push(serve.url, 'check1', 'game/conf.ini', 'good 3\n')
    await waitUntil('version 3 applied', () => readText(dest) === 'good 3\n' && countLines(reloads) === 2)
    await waitUntil('ok report', async () => (await instance('check1', 'gs-2'))?.files[0]?.status === 'ok')
    await agent.stop()
  })

  it('a failing reload restores the old file, reloads again, reports, and is not retried', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await push(serve.url, 'reload1', 'game/conf.ini', 'fine 1\n')
    await probe.publish(serve.url, 'reload1')
    const config = writeAgentConfig(dir, {
      source: `zk://${zk.connect}/stconf`,
      env: 'reload1',
      host: 'gs-3',
      pollInterval: '200ms',
      // the "service" refuses to start with a broken file
      files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}; ! grep -q broken ${dest}`}, probe.file],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 applied', () => readText(dest) === 'fine 1\n' && countLines(reloads) === 1)
    await push(serve.url, 'reload1', 'game/conf.ini', 'broken 2\n')
    const report = await waitUntil('reload-failed report', async () => {
      const r = await instance('reload1', 'gs-3')
      return r?.files[0]?.status === 'reload-failed' && r
    })
    assert.equal(readText(dest), 'fine 1\n', 'the old file is back')
    assert.equal(readText(reloads), 'fine 1\nbroken 2\nfine 1\n', 'reload ran with the new file, failed, ran again with the old one')
    assert.equal(report.files[0].version, 1)
    assert.match(report.files[0].error ?? '', /version 2: reload failed/)
    await probe.polls()
    assert.equal(countLines(reloads), 3, 'no restart loop: the failed version is not tried again')
    await push(serve.url, 'reload1', 'game/conf.ini', 'fine 3\n')
    await waitUntil('version 3 applied', () => readText(dest) === 'fine 3\n' && countLines(reloads) === 4)
    await agent.stop()
  })

  it('a burst inside `wait` gives one reload; a symlinked destination is written through', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'real'))
    const target = join(dir, 'real', 'conf.ini')
    const dest = join(dir, 'conf.ini')
    writeFileSync(target, 'old\n')
    symlinkSync(target, dest)
    const reloads = join(dir, 'reloads.log')
    await push(serve.url, 'burst1', 'game/conf.ini', 'v1\n')
    const config = writeAgentConfig(dir, {
      source: `zk://${zk.connect}/stconf`,
      env: 'burst1',
      host: 'gs-4',
      files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}`, wait: '3s'}],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 reloaded', () => countLines(reloads) === 1)
    assert.ok(lstatSync(dest).isSymbolicLink(), 'the symlink is still a symlink')
    assert.equal(readText(target), 'v1\n', 'its target got the content')
    for (let i = 2; i <= 6; i++) await push(serve.url, 'burst1', 'game/conf.ini', `v${i}\n`)
    await waitUntil('the burst reloaded', () => countLines(reloads) >= 2)
    // Settled: the report says version 6 is in place, which it says only after its reload.
    await waitUntil('the report of version 6', async () => (await instance('burst1', 'gs-4'))?.files[0]?.status === 'ok' && (await instance('burst1', 'gs-4'))?.files[0]?.version === 6)
    assert.equal(readText(reloads), 'v1\nv6\n', 'one reload for the burst, with the last version')
    assert.ok(lstatSync(dest).isSymbolicLink())
    await agent.stop()
  })
})
