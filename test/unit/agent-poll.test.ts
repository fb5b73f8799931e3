// The agent's poll loop sleeps on one long-lived AbortSignal. Each round used to add an abort listener
// that was never removed: MaxListenersExceededWarning after ~20-45 s with the default poll, and memory
// growing with uptime. A real Agent with a 1 ms poll against an in-memory source: after hundreds of
// rounds the signal holds as many listeners as after the first few, and no warning was emitted.
import assert from 'node:assert/strict'
import {getEventListeners} from 'node:events'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {Agent} from '../../src/lib/agent/agent.js'
import type {AgentConfig} from '../../src/lib/agent/config.js'
import {silentLogger, type Source} from '../../src/lib/agent/types.js'
import type {VersionMeta} from '../../src/lib/model.js'
import {tempDir, waitUntil} from '../helpers/cli.js'

/** A center with no keys; counts the agent's polls. */
class CountingSource implements Source {
  readonly description = 'memory'
  polls = 0
  async start(): Promise<void> {}
  async metas(keys: string[]): Promise<Map<string, VersionMeta | null>> {
    this.polls++
    return new Map(keys.map((key) => [key, null]))
  }

  async fetch(): Promise<null> {
    return null
  }

  async report(): Promise<void> {}
  async stop(): Promise<void> {}
}

describe('agent poll loop', () => {
  const dirs: string[] = []
  after(() => {
    for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  })

  it('runs hundreds of polls with a flat listener count and no MaxListenersExceededWarning', async () => {
    const dir = tempDir('stconf-poll-')
    dirs.push(dir)
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    const source = new CountingSource()
    const config: AgentConfig = {
      source: {kind: 'http', url: 'http://127.0.0.1:1'},
      env: 'prod',
      host: 'gs-1',
      instance: 'gs-1',
      cacheDir: join(dir, 'cache'),
      pollIntervalMs: 1,
      sessionTimeoutMs: 10_000,
      files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini'), reloadTimeoutMs: 1000, waitMs: 0}],
    }
    const agent = new Agent({config, logger: silentLogger, agentVersion: 'test', source})
    try {
      await agent.start()
      await waitUntil('20 polls', () => source.polls >= 20)
      const early = getEventListeners(agent.signal, 'abort').length
      await waitUntil('400 polls', () => source.polls >= 400, 60_000)
      const late = getEventListeners(agent.signal, 'abort').length
      assert.equal(late, early, `abort listeners grew from ${early} to ${late} over ${source.polls} polls`)
      assert.ok(late <= 2, `at most the sleep in flight listens, found ${late}`)
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map((warning) => warning.message),
        [],
      )
    } finally {
      process.off('warning', onWarning)
      await agent.stop()
    }
  })
})
