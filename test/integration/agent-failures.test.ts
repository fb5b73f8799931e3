// The failure model, with real processes: ZooKeeper outages, session expiry, write bursts, keys
// deleted and re-created straight in ZooKeeper, large files applied back to back.
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {PollProbe, push, readInstance, readText, useAgentRig, writeZnodes} from '../helpers/agent-harness.js'
import {tempDir, waitUntil} from '../helpers/cli.js'

const ROOT = '/raw' // written straight by the tests, no serve watching it

describe('agent failure model (real ZooKeeper, real agents)', () => {
  const rig = useAgentRig({zk: true, client: {sessionTimeoutMs: 4000}})
  const instance = (env: string, host: string) => readInstance(rig.client, env, host, ROOT)

  it('recovers from session expiry (agent paused past its session timeout): new report node, watches re-armed', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    await writeZnodes(rig.client, 'exp', 'game/conf.ini', 'v1\n', 1, ROOT)
    const agent = rig.agent(dir, {
      source: rig.source(ROOT),
      env: 'exp',
      host: 'exp-1',
      sessionTimeout: '2s',
      pollInterval: '1m', // watches must do the work
      files: [{key: 'game/conf.ini', dest}],
    })
    await waitUntil('version 1', () => readText(dest) === 'v1\n')
    const before = await waitUntil('instance node', () => instance('exp', 'exp-1'))
    agent.child.kill('SIGSTOP')
    try {
      await writeZnodes(rig.client, 'exp', 'game/conf.ini', 'v2\n', 2, ROOT)
      // the old session expires while the agent is frozen
      await waitUntil('the paused agent\'s session to expire', async () => (await instance('exp', 'exp-1')) === undefined, 30_000)
    } finally {
      agent.child.kill('SIGCONT')
    }

    await waitUntil('version 2 after the new session', () => readText(dest) === 'v2\n')
    const afterExpiry = await waitUntil('instance node re-created by the new session', async () => {
      const now = await instance('exp', 'exp-1')
      return now && now.owner !== before.owner && now.report.files[0].version === 2 && now
    })
    assert.equal(afterExpiry.report.pid, agent.pid)
    await writeZnodes(rig.client, 'exp', 'game/conf.ini', 'v3\n', 3, ROOT)
    await waitUntil('version 3 through a re-armed watch', () => readText(dest) === 'v3\n')
    await agent.stop()
  })

  it('follows a key deleted and re-created straight in ZooKeeper, never blanking the file meanwhile', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const probe = new PollProbe(join(dir, 'probe.ini'))
    await writeZnodes(rig.client, 'del', 'game/conf.ini', 'before\n', 1, ROOT)
    await writeZnodes(rig.client, 'del', PollProbe.key, PollProbe.content, 1, ROOT)
    const agent = rig.agent(dir, {
      source: rig.source(ROOT),
      env: 'del',
      host: 'del-1',
      pollInterval: '200ms',
      files: [{key: 'game/conf.ini', dest}, probe.file],
    })
    await waitUntil('version 1', () => readText(dest) === 'before\n')
    const config1 = (await rig.client.getData(`${ROOT}/config/del/game/conf.ini`))!
    const meta1 = (await rig.client.getData(`${ROOT}/meta/del/game/conf.ini`))!
    await rig.client.multi([
      {op: 'remove', path: `${ROOT}/config/del/game/conf.ini`, version: config1.stat.version},
      {op: 'remove', path: `${ROOT}/meta/del/game/conf.ini`, version: meta1.stat.version},
    ])
    await waitUntil('the agent to notice the key is gone', async () => /does not exist in the center/.test((await instance('del', 'del-1'))?.report.files[0].error ?? ''))
    // Polls come and go while the key is gone; none of them touches the file.
    for (let round = 0; round < 3; round++) {
      assert.equal(readText(dest), 'before\n', 'the file is never blanked or deleted while the key is gone')
      await probe.polls(1)
    }

    await writeZnodes(rig.client, 'del', 'game/conf.ini', 'after\n', 2, ROOT)
    await waitUntil('the re-created key applied', () => readText(dest) === 'after\n')
    await writeZnodes(rig.client, 'del', 'game/conf.ini', 'after again\n', 3, ROOT)
    await waitUntil('still followed', () => readText(dest) === 'after again\n')
    await agent.stop()
  })

  it('a reader never sees a partial file while large versions are applied back to back', async () => {
    const dir = tempDir()
    const dest = join(dir, 'big.bin')
    const size = 512 * 1024
    const version = (n: number) => Buffer.alloc(size, 65 + (n % 26))
    await writeZnodes(rig.client, 'big', 'game/big.bin', version(1), 1, ROOT)
    const agent = rig.agent(dir, {source: rig.source(ROOT), env: 'big', host: 'big-1', pollInterval: '200ms', files: [{key: 'game/big.bin', dest}]})
    await waitUntil('version 1', async () => (await readFile(dest).catch(() => undefined))?.equals(version(1)))
    let reads = 0
    let bad = ''
    let done = false
    const reader = (async () => {
      while (!done) {
        const bytes = await readFile(dest)
        reads++
        if (bytes.length !== size || bytes.some((b) => b !== bytes[0])) bad = `a read of ${bytes.length} bytes mixing versions`
      }
    })()
    for (let n = 2; n <= 20; n++) await writeZnodes(rig.client, 'big', 'game/big.bin', version(n), n, ROOT)
    await waitUntil('the last version', async () => (await readFile(dest)).equals(version(20)))
    done = true
    await reader
    assert.equal(bad, '')
    assert.ok(reads > 20, `the reader read while versions were applied (${reads} reads)`)
    await agent.stop()
  })
})

describe('agent with ZooKeeper down (real serve, real agents)', () => {
  const rig = useAgentRig({zk: true, serve: true})

  it('50 pushes back to back leave every agent on the last version', async () => {
    const dirs = [tempDir(), tempDir(), tempDir()]
    await push(rig.serve.url, 'burst', 'game/conf.ini', 'n=0\n')
    for (const [i, dir] of dirs.entries()) {
      rig.agent(dir, {
        env: 'burst',
        host: `b-${i}`,
        pollInterval: '1m', // no help from the safety net
        files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini'), reload: 'true'}],
      })
    }

    await waitUntil('all agents on version 1', () => dirs.every((dir) => readText(join(dir, 'conf.ini')) === 'n=0\n'))
    for (let n = 1; n <= 50; n++) await push(rig.serve.url, 'burst', 'game/conf.ini', `n=${n}\n`)
    await waitUntil('every agent on the last version', () => dirs.every((dir) => readText(join(dir, 'conf.ini')) === 'n=50\n'))
  })

  it('keeps running with files intact while ZooKeeper is down, starts while it is down, converges when it returns', async () => {
    const running = tempDir()
    const late = tempDir()
    await push(rig.serve.url, 'outage', 'game/conf.ini', 'before outage\n')
    const setup = (dir: string, host: string) => ({env: 'outage', host, sessionTimeout: '4s', pollInterval: '300ms', files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]})
    const first = rig.agent(running, setup(running, 'o-1'))
    await waitUntil('first agent applied', () => readText(join(running, 'conf.ini')) === 'before outage\n')
    // The late agent ran once before (its cache and file exist), then starts again during the outage.
    const lateOnce = rig.agent(late, setup(late, 'o-2'), ['--once'])
    assert.equal(await lateOnce.exited, 0, lateOnce.output)

    await rig.zk.stop()
    const second = rig.agent(late, setup(late, 'o-2'))
    // Down until both agents have felt it: each says so once its reads fail (a poll, a watch).
    await waitUntil('both agents to notice ZooKeeper is down', () => /center unreachable/.test(first.output) && /center unreachable/.test(second.output), 60_000)
    assert.ok(first.running && second.running, 'both agents keep running')
    assert.equal(readText(join(running, 'conf.ini')), 'before outage\n', 'files intact')
    assert.equal(readText(join(late, 'conf.ini')), 'before outage\n', 'files intact')
    await rig.zk.start()
    await waitUntil('serve to take pushes again', async () => {
      try {
        await push(rig.serve.url, 'outage', 'game/conf.ini', 'after outage\n')
        return true
      } catch {
        return false
      }
    }, 60_000)
    await waitUntil('both agents converge', () => readText(join(running, 'conf.ini')) === 'after outage\n' && readText(join(late, 'conf.ini')) === 'after outage\n', 30_000)
    assert.equal(await first.stop(), 0)
    assert.equal(await second.stop(), 0)
  })
})
