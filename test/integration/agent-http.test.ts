// The http source against an embedded-store serve, and `stconf status` reading the truth back.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {countLines, push, readText, useAgentRig} from '../helpers/agent-harness.js'
import {startServe, status, tempDir, waitUntil} from '../helpers/cli.js'

describe('stconf agent with an http source (embedded-store serve) and stconf status', () => {
  const rig = useAgentRig({serve: true})

  /** An agent on `env` with game/conf.ini (reloaded) and game/other.ini (checked for "ok"). */
  function startWeb(env: string) {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const other = join(dir, 'other.ini')
    const reloads = join(dir, 'reloads.log')
    const agent = rig.agent(dir, {
      env,
      host: `${env}-1`,
      pollInterval: '10s', // the long-poll must do the work, not the safety net
      files: [
        {key: 'game/conf.ini', dest, reload: `echo r >> ${reloads}`},
        {key: 'game/other.ini', dest: other, check: 'grep -q ok {{path}}'},
      ],
    })
    return {agent, dest, other, reloads, host: `${env}-1`}
  }

  /** The status rows once `done` holds for them. */
  const rowsWhen = (env: string, what: string, done: (rows: Awaited<ReturnType<typeof status>>['rows']) => boolean) =>
    waitUntil(what, async () => {
      const {rows} = await status(rig.serve.url, env)
      return done(rows) && rows
    })

  it('follows pushes over the long-poll, one reload each', async () => {
    await push(rig.serve.url, 'web-follow', 'game/conf.ini', 'a=1\n')
    const {dest, reloads} = startWeb('web-follow')
    await waitUntil('version 1 applied', () => readText(dest) === 'a=1\n' && countLines(reloads) === 1)
    await push(rig.serve.url, 'web-follow', 'game/conf.ini', 'a=2\n')
    await waitUntil('version 2 applied', () => readText(dest) === 'a=2\n' && countLines(reloads) === 2)
  })

  it('status shows an applied file in sync and online, with its host, last report and hash', async () => {
    await push(rig.serve.url, 'web-ok', 'game/conf.ini', 'a=1\n')
    const {host} = startWeb('web-ok')
    const rows = await rowsWhen('web-ok', 'status of version 1', (rows) => rows.some((row) => row.key === 'game/conf.ini' && row.version === 1))
    const conf = rows.find((row) => row.key === 'game/conf.ini')!
    assert.equal(conf.host, host)
    assert.equal(conf.inSync, true)
    assert.equal(conf.online, true)
    assert.equal(conf.status, 'ok')
    assert.equal(typeof conf.lastSeen, 'string')
    assert.equal(conf.sha256?.length, 64)
  })

  it('status shows a file that failed its check as not in sync, with the error; the file is not written', async () => {
    await push(rig.serve.url, 'web-bad', 'game/other.ini', 'not good\n')
    const {other} = startWeb('web-bad')
    const rows = await rowsWhen('web-bad', 'status of the failed check', (rows) => rows.some((row) => row.key === 'game/other.ini' && row.status === 'check-failed'))
    const bad = rows.find((row) => row.key === 'game/other.ini')!
    assert.equal(bad.inSync, false)
    assert.equal(bad.version, null)
    assert.match(bad.error ?? '', /check failed/)
    assert.equal(readText(other), undefined)
  })

  it('status <key> shows only that key', async () => {
    await push(rig.serve.url, 'web-key', 'game/conf.ini', 'a=1\n')
    await push(rig.serve.url, 'web-key', 'game/other.ini', 'ok\n')
    startWeb('web-key')
    await rowsWhen('web-key', 'both files in sync', (rows) => rows.length === 2 && rows.every((row) => row.inSync))
    const {rows} = await status(rig.serve.url, 'web-key', {key: 'game/conf.ini'})
    assert.deepEqual(rows.map((row) => row.key), ['game/conf.ini'])
  })

  it('an agent stopped with SIGTERM is listed as stopped with the versions it last applied, its files left in place', async () => {
    await push(rig.serve.url, 'web-stop', 'game/conf.ini', 'a=1\n')
    await push(rig.serve.url, 'web-stop', 'game/conf.ini', 'a=2\n')
    const {agent, dest} = startWeb('web-stop')
    await rowsWhen('web-stop', 'version 2 in sync', (rows) => rows.some((row) => row.key === 'game/conf.ini' && row.version === 2))
    assert.equal(await agent.stop('SIGTERM'), 0)
    const stopped = await rowsWhen('web-stop', 'the stopped agent listed as stopped', (rows) => rows.length > 0 && rows.every((row) => row.state === 'stopped'))
    assert.equal(stopped.find((row) => row.key === 'game/conf.ini')?.version, 2)
    assert.equal(readText(dest), 'a=2\n')
  })

  it('keeps its files while serve is down, starts from them, and converges when serve returns', async () => {
    const dir = tempDir()
    const data = tempDir('stconf-serve-')
    const own = await startServe({dataDir: data})
    const dest = join(dir, 'conf.ini')
    await push(own.url, 'web', 'game/conf.ini', 'x=1\n')
    const setup = {source: own.url, env: 'web', host: 'web-2', pollInterval: '300ms', files: [{key: 'game/conf.ini', dest}]}
    const first = rig.agent(dir, setup)
    await waitUntil('version 1 applied', () => readText(dest) === 'x=1\n')
    const port = new URL(own.url).port
    await own.stop()
    await first.stop()
    const agent = rig.agent(dir, setup) // started while the center is down
    await waitUntil('the agent to notice the center is down', () => /center unreachable/.test(agent.output))
    assert.ok(agent.running)
    assert.equal(readText(dest), 'x=1\n', 'the file is intact')
    const back = await startServe({dataDir: data, port: Number(port)})
    try {
      await push(back.url, 'web', 'game/conf.ini', 'x=2\n')
      await waitUntil('convergence after serve returns', () => readText(dest) === 'x=2\n')
    } finally {
      await back.stop()
    }
  })
})
