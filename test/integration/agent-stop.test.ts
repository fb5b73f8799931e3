// A second SIGTERM reaches the running reload: a real agent process whose reload hangs is stopped
// twice; the reload's whole process tree is killed, its file is put back, and the agent exits 0.
// (One SIGTERM waits for the reload: agent-lifecycle.test.ts, "SIGTERM during a burst".)
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {push, readText, useAgentRig} from '../helpers/agent-harness.js'
import {alive} from '../helpers/cleanup.js'
import {tempDir, waitUntil} from '../helpers/cli.js'

const LONG = 60_000

describe('agent stop (embedded-store serve, real agent process)', () => {
  const rig = useAgentRig({serve: true})

  it('a second SIGTERM kills the running reload and its children, puts the old file back and exits 0', async () => {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const pidFile = join(dir, 'sleep.pid')
    writeFileSync(dest, 'old\n')
    await push(rig.serve.url, 'stop', 'game/conf.ini', 'new\n')
    const agent = rig.agent(dir, {
      env: 'stop',
      host: 'stop-1',
      files: [{key: 'game/conf.ini', dest, reload: `sleep 600 & echo $! > ${pidFile}; wait`, reloadTimeout: '10m'}],
    })
    const sleepPid = Number(await waitUntil('the reload running', () => readText(pidFile)?.trim(), LONG))
    agent.child.kill('SIGTERM')
    await waitUntil('the clean stop begun', () => agent.output.includes('"msg":"stopping"'), LONG)
    assert.ok(agent.running, 'the first SIGTERM waits for the reload')
    agent.child.kill('SIGTERM')
    assert.equal(await agent.exited, 0, agent.output)
    assert.equal(alive(sleepPid), false, "the reload's child was killed with it")
    assert.equal(readText(dest), 'old\n', 'the file whose reload was killed is put back')
  })
})
