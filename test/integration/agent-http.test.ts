// The http source against an embedded-store serve, and `stconf status` reading the truth back.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {countLines, push, readText, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, startServe, status, tempDir, waitUntil, type Proc, type ServeHandle} from '../helpers/cli.js'

describe('stconf agent with an http source (embedded-store serve) and stconf status', () => {
  let serve: ServeHandle
  const agents: Proc[] = []
  before(async () => {
    serve = await startServe()
  })
  after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL')
    await serve.stop()
  })

  it('follows pushes over the long-poll, reports heartbeats, and status shows the truth', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const other = join(dir, 'other.ini')
    const reloads = join(dir, 'reloads.log')
    await push(serve.url, 'web', 'game/conf.ini', 'a=1\n')
    const config = writeAgentConfig(dir, {
      source: serve.url,
      token: ADMIN_TOKEN,
      env: 'web',
      host: 'web-1',
      pollInterval: '10s', // the long-poll must do the work, not the safety net
      files: [
        {key: 'game/conf.ini', dest, reload: `echo r >> ${reloads}`},
        {key: 'game/other.ini', dest: other, check: 'grep -q ok {{path}}'},
      ],
    })
    const agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 applied', () => readText(dest) === 'a=1\n' && countLines(reloads) === 1)
    await push(serve.url, 'web', 'game/conf.ini', 'a=2\n')
    await waitUntil('version 2 applied', () => readText(dest) === 'a=2\n' && countLines(reloads) === 2)
    await push(serve.url, 'web', 'game/other.ini', 'not good\n')
    const rows = await waitUntil('status with both files', async () => {
      const {rows} = await status(serve.url, 'web')
      const conf = rows.find((row) => row.key === 'game/conf.ini')
      const bad = rows.find((row) => row.key === 'game/other.ini')
      return conf?.version === 2 && bad?.status === 'check-failed' && rows
    })
    const conf = rows.find((row) => row.key === 'game/conf.ini')!
    assert.equal(conf.host, 'web-1')
    assert.equal(conf.inSync, true)
    assert.equal(conf.online, true)
    assert.equal(conf.status, 'ok')
    assert.equal(typeof conf.lastSeen, 'string')
    assert.equal(conf.sha256?.length, 64)
    const bad = rows.find((row) => row.key === 'game/other.ini')!
    assert.equal(bad.inSync, false)
    assert.equal(bad.version, null)
    assert.match(bad.error ?? '', /check failed/)
    assert.equal(readText(other), undefined, 'a file that failed its check is not written')

    const {rows: onlyConf} = await status(serve.url, 'web', {key: 'game/conf.ini'})
    assert.deepEqual(
      onlyConf.map((row) => row.key),
      ['game/conf.ini'],
    )

    assert.equal(await agent.stop('SIGTERM'), 0)
    const stopped = await waitUntil('the stopped agent listed as stopped', async () => {
      const {rows} = await status(serve.url, 'web')
      return rows.length > 0 && rows.every((row) => row.state === 'stopped') && rows
    })
    assert.equal(stopped.find((row) => row.key === 'game/conf.ini')?.version, 2, 'with the versions it last applied')
    assert.equal(readText(dest), 'a=2\n', 'files stay after the agent stops')
  })

  it('keeps its files while serve is down, starts from them, and converges when serve returns', async () => {
    const dir = tempDir()
    const data = tempDir('stconf-serve-')
    const own = await startServe({dataDir: data})
    const dest = join(dir, 'conf.ini')
    await push(own.url, 'web', 'game/conf.ini', 'x=1\n')
    const config = writeAgentConfig(dir, {source: own.url, token: ADMIN_TOKEN, env: 'web', host: 'web-2', pollInterval: '300ms', files: [{key: 'game/conf.ini', dest}]})
    let agent = startAgent(config)
    agents.push(agent)
    await waitUntil('version 1 applied', () => readText(dest) === 'x=1\n')
    const port = new URL(own.url).port
    await own.stop()
    await agent.stop()
    agent = startAgent(config) // started while the center is down
    agents.push(agent)
    await waitUntil('the agent to notice the center is down', () => /center unreachable/.test(agent.output))
    assert.ok(agent.running)
    assert.equal(readText(dest), 'x=1\n', 'the file is intact')
    const back = await startServe({dataDir: data, port: Number(port)})
    await push(back.url, 'web', 'game/conf.ini', 'x=2\n')
    await waitUntil('convergence after serve returns', () => readText(dest) === 'x=2\n')
    await agent.stop()
    await back.stop()
  })
})
