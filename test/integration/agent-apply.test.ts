// The apply pipeline end to end: real ZooKeeper, real `stconf serve --zk`, real `stconf agent`.
import assert from 'node:assert/strict'
import {lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {countLines, PollProbe, push, readText, useAgentRig} from '../helpers/agent-harness.js'
import {tempDir, waitUntil} from '../helpers/cli.js'

describe('stconf agent applies changes (zk source)', () => {
  const rig = useAgentRig({zk: true, serve: true, client: {}})

  /** The report once it says `version` of its first file is in place. */
  const reportOf = (env: string, host: string, version: number) =>
    waitUntil(`the report of version ${version}`, async () => {
      const report = await rig.instance(env, host)
      return report?.files[0]?.version === version && report
    })

  it('a file already equal to the version gets no reload', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    await push(rig.serve.url, 'equal', 'game/conf.ini', 'rate=1\n')
    writeFileSync(dest, 'rate=1\n')
    rig.agent(dir, {env: 'equal', host: 'gs-equal', files: [{key: 'game/conf.ini', dest, reload: `echo r >> ${reloads}`}]})
    const report = await reportOf('equal', 'gs-equal', 1)
    assert.equal(report.files[0].status, 'ok')
    assert.equal(countLines(reloads), 0, 'bytes equal to the file on disk: no reload')
  })

  it('each change is reloaded once, after the new file is in place', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    await push(rig.serve.url, 'each', 'game/conf.ini', 'rate=1\n')
    rig.agent(dir, {env: 'each', host: 'gs-each', pollInterval: '300ms', files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}`}]})
    await waitUntil('version 1 reloaded', () => countLines(reloads) === 1)
    await push(rig.serve.url, 'each', 'game/conf.ini', 'rate=2\n')
    await waitUntil('version 2 reloaded', () => countLines(reloads) === 2)
    await push(rig.serve.url, 'each', 'game/conf.ini', 'rate=3\n')
    await reportOf('each', 'gs-each', 3)
    assert.equal(readFileSync(reloads, 'utf8'), 'rate=1\nrate=2\nrate=3\n', 'the reload ran after the file was in place, once per change')
  })

  it('a replaced file keeps the mode of the file it replaces', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'etc'))
    const dest = join(dir, 'etc', 'conf.ini')
    writeFileSync(dest, 'old\n', {mode: 0o640})
    await push(rig.serve.url, 'mode', 'game/conf.ini', 'new\n')
    rig.agent(dir, {env: 'mode', host: 'gs-mode', files: [{key: 'game/conf.ini', dest}]})
    await waitUntil('version 1 on disk', () => readText(dest) === 'new\n')
    assert.equal(statSync(dest).mode & 0o777, 0o640)
  })

  it('reports the applied version with its host, pid and status ok', async () => {
    const dir = tempDir()
    await push(rig.serve.url, 'report', 'game/conf.ini', 'rate=1\n')
    await push(rig.serve.url, 'report', 'game/conf.ini', 'rate=2\n')
    const agent = rig.agent(dir, {env: 'report', host: 'gs-report', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
    const report = await reportOf('report', 'gs-report', 2)
    assert.equal(report.host, 'gs-report')
    assert.equal(report.pid, agent.pid)
    assert.equal(report.files[0].status, 'ok')
    assert.equal(report.files[0].error, null)
  })

  it('caches the applied bytes and version in files only its owner can read', async () => {
    const dir = tempDir()
    await push(rig.serve.url, 'cache', 'game/conf.ini', 'rate=1\n')
    rig.agent(dir, {env: 'cache', host: 'gs-cache', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
    const cacheFiles = join(dir, 'cache', 'cache', 'files')
    // The report may leave before the cache write ends (the state in memory is set first, at once).
    const entry = await waitUntil('the cache of version 1', () =>
      readdirSync(cacheFiles).find((name) => JSON.parse(readText(join(cacheFiles, name, 'state.json')) ?? '{}').version === 1),
    )
    assert.equal(readFileSync(join(cacheFiles, entry, 'content'), 'utf8'), 'rate=1\n')
    assert.equal(statSync(join(cacheFiles, entry, 'content')).mode & 0o777, 0o600)
  })

  it('SIGTERM removes the instance report and leaves the file in place', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    await push(rig.serve.url, 'sigterm', 'game/conf.ini', 'rate=1\n')
    const agent = rig.agent(dir, {env: 'sigterm', host: 'gs-term', files: [{key: 'game/conf.ini', dest}]})
    await reportOf('sigterm', 'gs-term', 1)
    assert.equal(await agent.stop('SIGTERM'), 0)
    assert.equal(await rig.instance('sigterm', 'gs-term'), undefined, 'the instance report is removed on a clean stop')
    assert.equal(readText(dest), 'rate=1\n')
  })

  it('a failing check keeps the old file and is not retried; a newer version is applied', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    const checks = join(dir, 'checks.log')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await push(rig.serve.url, 'check1', 'game/conf.ini', 'good 1\n')
    await probe.publish(rig.serve.url, 'check1')
    rig.agent(dir, {
      env: 'check1',
      host: 'gs-2',
      pollInterval: '200ms',
      files: [{key: 'game/conf.ini', dest, check: `echo x >> ${checks}; grep -q good {{path}}`, reload: `echo r >> ${reloads}`}, probe.file],
    })
    await waitUntil('version 1 applied', () => readText(dest) === 'good 1\n' && countLines(reloads) === 1)
    await push(rig.serve.url, 'check1', 'game/conf.ini', 'bad 2\n')
    const report = await waitUntil('check-failed report', async () => {
      const r = await rig.instance('check1', 'gs-2')
      return r?.files[0]?.status === 'check-failed' && r
    })
    assert.equal(report.files[0].version, 1, 'the report still says version 1 is in place')
    assert.match(report.files[0].error ?? '', /version 2: check failed/)
    assert.equal(readText(dest), 'good 1\n', 'the old file is kept')
    const checksAfterFailure = countLines(checks)
    await probe.polls() // several polls
    assert.equal(countLines(checks), checksAfterFailure, 'a failed version is not checked again')
    await push(rig.serve.url, 'check1', 'game/conf.ini', 'good 3\n')
    await waitUntil('version 3 applied', () => readText(dest) === 'good 3\n' && countLines(reloads) === 2)
    await waitUntil('ok report', async () => (await rig.instance('check1', 'gs-2'))?.files[0]?.status === 'ok')
  })

  it('a failing reload restores the old file, reloads again, reports, and is not retried', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await push(rig.serve.url, 'reload1', 'game/conf.ini', 'fine 1\n')
    await probe.publish(rig.serve.url, 'reload1')
    rig.agent(dir, {
      env: 'reload1',
      host: 'gs-3',
      pollInterval: '200ms',
      // the "service" refuses to start with a broken file
      files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}; ! grep -q broken ${dest}`}, probe.file],
    })
    await waitUntil('version 1 applied', () => readText(dest) === 'fine 1\n' && countLines(reloads) === 1)
    await push(rig.serve.url, 'reload1', 'game/conf.ini', 'broken 2\n')
    const report = await waitUntil('reload-failed report', async () => {
      const r = await rig.instance('reload1', 'gs-3')
      return r?.files[0]?.status === 'reload-failed' && r
    })
    assert.equal(readText(dest), 'fine 1\n', 'the old file is back')
    assert.equal(readText(reloads), 'fine 1\nbroken 2\nfine 1\n', 'reload ran with the new file, failed, ran again with the old one')
    assert.equal(report.files[0].version, 1)
    assert.match(report.files[0].error ?? '', /version 2: reload failed/)
    await probe.polls()
    assert.equal(countLines(reloads), 3, 'no restart loop: the failed version is not tried again')
    await push(rig.serve.url, 'reload1', 'game/conf.ini', 'fine 3\n')
    await waitUntil('version 3 applied', () => readText(dest) === 'fine 3\n' && countLines(reloads) === 4)
  })

  it('a burst of pushes inside `wait` gives one reload, with the last version', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    await push(rig.serve.url, 'burst1', 'game/conf.ini', 'v1\n')
    rig.agent(dir, {env: 'burst1', host: 'gs-4', files: [{key: 'game/conf.ini', dest, reload: `cat ${dest} >> ${reloads}`, wait: '3s'}]})
    await waitUntil('version 1 reloaded', () => countLines(reloads) === 1)
    for (let i = 2; i <= 6; i++) await push(rig.serve.url, 'burst1', 'game/conf.ini', `v${i}\n`)
    // Settled: the report says version 6 is in place, which it says only after its reload.
    await waitUntil('the report of version 6', async () => {
      const file = (await rig.instance('burst1', 'gs-4'))?.files[0]
      return file?.status === 'ok' && file.version === 6
    })
    assert.equal(readText(reloads), 'v1\nv6\n')
  })

  it('a symlinked destination is written through: the link stays, its target gets the content', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'real'))
    const target = join(dir, 'real', 'conf.ini')
    const dest = join(dir, 'conf.ini')
    writeFileSync(target, 'old\n')
    symlinkSync(target, dest)
    await push(rig.serve.url, 'symlink', 'game/conf.ini', 'v1\n')
    rig.agent(dir, {env: 'symlink', host: 'gs-link', files: [{key: 'game/conf.ini', dest}]})
    await waitUntil('version 1 in the target', () => readText(target) === 'v1\n')
    assert.ok(lstatSync(dest).isSymbolicLink(), 'the symlink is still a symlink')
  })
})
