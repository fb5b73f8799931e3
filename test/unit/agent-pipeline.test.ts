// The pipeline's decisions with an injected subprocess runner and clock (real files in a temp dir):
// reload grouping, the settle/rollback decision, a failed check, and the abort signal reaching the
// commands. Each case states one claim.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {Agent} from '../../src/lib/agent/agent.js'
import type {AgentConfig, FileSpec} from '../../src/lib/agent/config.js'
import {ManagedFile} from '../../src/lib/agent/managed-file.js'
import type {Clock, Runner} from '../../src/lib/agent/pipeline/context.js'
import {Pipeline} from '../../src/lib/agent/pipeline/pipeline.js'
import {silentLogger, type Current, type Source} from '../../src/lib/agent/types.js'
import {ExecError, type RunOptions} from '../../src/lib/exec.js'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import {tempDir} from '../helpers/cli.js'

/** Records every command; answers with `answer` (exit 0 unless it throws). */
function fakeRunner(answer: (command: string, options: RunOptions, call: number) => Promise<void> | void = () => undefined) {
  const calls: Array<{command: string; options: RunOptions}> = []
  const run: Runner = async (command, options) => {
    calls.push({command, options})
    await answer(command, options, calls.length)
    return {exitCode: 0, output: '', durationMs: 1}
  }

  return {run, calls}
}

const fail = (command: string) => {
  throw new ExecError(command, 'exit', 1, 'bad config')
}

/** Waits for the signal, then fails as runShell does when aborted. */
const untilAborted = (command: string, options: RunOptions) =>
  new Promise<void>((_, reject) => {
    options.signal?.addEventListener('abort', () => reject(new ExecError(command, 'aborted', undefined, '')), {once: true})
  })

/** A clock that moves only when told; timers fire when their time is reached. */
function fakeClock() {
  let now = 0
  let timers: Array<{at: number; run: () => void}> = []
  const clock: Clock = {
    now: () => now,
    setTimeout(run, ms) {
      const timer = {at: now + ms, run}
      timers.push(timer)
      return timer
    },
    clearTimeout(timer) {
      timers = timers.filter((t) => t !== timer)
    },
  }
  const advance = (ms: number) => {
    now += ms
    const due = timers.filter((t) => t.at <= now)
    timers = timers.filter((t) => t.at > now)
    for (const timer of due) timer.run()
  }

  return {clock, advance, pending: () => timers.length}
}

function setup(specs: Array<Partial<FileSpec> & {name: string}>, run: Runner, clock?: Clock, signal?: AbortSignal) {
  const dir = tempDir('stconf-pipeline-')
  const files = specs.map(
    ({name, ...spec}) => new ManagedFile({key: `game/${name}`, dest: join(dir, name), reloadTimeoutMs: 1000, waitMs: 0, ...spec}, join(dir, 'cache')),
  )
  const pipeline = new Pipeline({logger: silentLogger, onReport() {}, run, clock, signal})
  return {dir, files, pipeline}
}

const version = (n: number, content: Buffer) => ({version: n, sha256: sha256(content)})
const bytes = (text: string) => Buffer.from(text)

describe('reload grouping', () => {
  it('two files sharing a reload command inside the wait window give one reload', async () => {
    const {run, calls} = fakeRunner()
    const {clock, advance} = fakeClock()
    const {files, pipeline} = setup(
      [
        {name: 'a.ini', reload: 'reload-game', waitMs: 1000},
        {name: 'b.ini', reload: 'reload-game', waitMs: 1000},
      ],
      run,
      clock,
    )
    await pipeline.apply(files[0], version(1, bytes('a=1\n')), bytes('a=1\n'))
    advance(500)
    await pipeline.apply(files[1], version(1, bytes('b=1\n')), bytes('b=1\n'))
    assert.equal(calls.length, 0, 'no reload inside the window')
    advance(1000) // quiet for `wait` after the last change
    await pipeline.idle()
    assert.deepEqual(calls.map((call) => call.command), ['reload-game'])
    assert.deepEqual(files.map((file) => file.state.status), ['ok', 'ok'])
  })

  it('files with different reload commands get one reload each', async () => {
    const {run, calls} = fakeRunner()
    const {files, pipeline} = setup(
      [
        {name: 'a.ini', reload: 'reload-a'},
        {name: 'b.ini', reload: 'reload-b'},
      ],
      run,
    )
    await pipeline.apply(files[0], version(1, bytes('a\n')), bytes('a\n'))
    await pipeline.apply(files[1], version(1, bytes('b\n')), bytes('b\n'))
    await pipeline.idle()
    assert.deepEqual(calls.map((call) => call.command).sort(), ['reload-a', 'reload-b'])
  })

  it('a burst never waits more than 4 x wait after its first change', async () => {
    const {run, calls} = fakeRunner()
    const {clock, advance} = fakeClock()
    const {files, pipeline} = setup([{name: 'a.ini', reload: 'reload-game', waitMs: 1000}], run, clock)
    // changes at 0, 900, 1800, 2700 and 3600 ms: each before the window of the previous one closed
    for (let i = 1; i <= 5; i++) {
      await pipeline.apply(files[0], version(i, bytes(`a=${i}\n`)), bytes(`a=${i}\n`))
      if (i < 5) advance(900)
    }

    assert.equal(calls.length, 0)
    advance(400) // 4000 ms after the first change, 400 ms after the last
    await pipeline.idle()
    assert.equal(calls.length, 1)
    assert.equal(files[0].state.lastApplied?.version, 5)
  })
})

describe('settle: applied or rolled back', () => {
  it('a reload that succeeds makes the file ok and caches that version', async () => {
    const {run} = fakeRunner()
    const {files, pipeline} = setup([{name: 'a.ini', reload: 'reload'}], run)
    await pipeline.apply(files[0], version(3, bytes('new\n')), bytes('new\n'))
    await pipeline.idle()
    assert.equal(files[0].state.status, 'ok')
    assert.equal((await files[0].cache.copy())?.version, 3)
  })

  it('a reload that fails puts the old file back, reloads again, and reports reload-failed without caching it', async () => {
    const {run, calls} = fakeRunner((command, _options, call) => (call === 1 ? fail(command) : undefined))
    const {files, pipeline} = setup([{name: 'a.ini', reload: 'reload'}], run)
    writeFileSync(files[0].spec.dest, 'old\n')
    await pipeline.apply(files[0], version(4, bytes('bad\n')), bytes('bad\n'))
    await pipeline.idle()
    assert.equal(readFileSync(files[0].spec.dest, 'utf8'), 'old\n')
    assert.equal(calls.length, 2, 'the reload, then the reload with the previous file')
    assert.deepEqual([files[0].state.status, files[0].report().failedVersion], ['reload-failed', 4])
    assert.equal(await files[0].cache.copy(), undefined)
  })

  it('a version whose reload failed is not tried again', async () => {
    const {run, calls} = fakeRunner((command, _options, call) => (call === 1 ? fail(command) : undefined))
    const {files, pipeline} = setup([{name: 'a.ini', reload: 'reload'}], run)
    await pipeline.apply(files[0], version(4, bytes('bad\n')), bytes('bad\n'))
    await pipeline.idle()
    await pipeline.apply(files[0], version(4, bytes('bad\n')), bytes('bad\n'))
    await pipeline.idle()
    assert.equal(calls.length, 2)
  })

  it('a rollback of a file that did not exist before removes it', async () => {
    const {run} = fakeRunner((command, _options, call) => (call === 1 ? fail(command) : undefined))
    const {files, pipeline} = setup([{name: 'a.ini', reload: 'reload'}], run)
    await pipeline.apply(files[0], version(1, bytes('new\n')), bytes('new\n'))
    await pipeline.idle()
    assert.equal(existsSync(files[0].spec.dest), false)
  })

  it('a failed check leaves the old file in place, runs no reload and reports check-failed', async () => {
    const {run, calls} = fakeRunner((command) => (command.startsWith('check') ? fail(command) : undefined))
    const {dir, files, pipeline} = setup([{name: 'a.ini', check: 'check {{path}}', reload: 'reload'}], run)
    writeFileSync(files[0].spec.dest, 'old\n')
    await pipeline.apply(files[0], version(2, bytes('bad\n')), bytes('bad\n'))
    await pipeline.idle()
    assert.equal(readFileSync(files[0].spec.dest, 'utf8'), 'old\n')
    assert.deepEqual(calls.map((call) => call.command.split(' ')[0]), ['check'])
    assert.equal(files[0].state.status, 'check-failed')
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'the candidate is removed')
  })
})

describe('the abort signal', () => {
  it('reaches a running check: the old file stays and the version is not marked failed', async () => {
    const controller = new AbortController()
    const {run, calls} = fakeRunner(untilAborted)
    const {dir, files, pipeline} = setup([{name: 'a.ini', check: 'check {{path}}'}], run, undefined, controller.signal)
    writeFileSync(files[0].spec.dest, 'old\n')
    const applying = pipeline.apply(files[0], version(2, bytes('new\n')), bytes('new\n'))
    while (calls.length === 0) await new Promise((resolve) => setImmediate(resolve))
    controller.abort()
    await applying
    assert.equal(readFileSync(files[0].spec.dest, 'utf8'), 'old\n')
    assert.deepEqual([files[0].state.status, files[0].state.lastFailed], ['pending', undefined])
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [])
  })

  it("reaches a running reload through Agent.abortCommands(): the reload is stopped and the file rolled back", async () => {
    const dir = tempDir('stconf-pipeline-agent-')
    const dest = join(dir, 'conf.ini')
    writeFileSync(dest, 'old\n')
    const content = bytes('new\n')
    const meta: VersionMeta = {version: 2, sha256: sha256(content), size: content.length, author: 't', message: '', time: '2026-01-01T00:00:00.000Z', kind: 'push'}
    let changed: (key: string) => void = () => undefined
    const source: Source = {
      description: 'memory',
      async start(_keys, onChange) {
        changed = onChange
      },
      async metas(keys) {
        return new Map(keys.map((key) => [key, meta]))
      },
      async fetch(): Promise<Current> {
        return {meta, content}
      },
      async report() {},
      async stop() {},
    }
    const {run, calls} = fakeRunner((command, options, call) => (call === 1 ? untilAborted(command, options) : undefined))
    const config: AgentConfig = {
      source: {kind: 'http', url: 'http://127.0.0.1:1'},
      env: 'prod',
      host: 'gs-1',
      instance: 'gs-1',
      cacheDir: join(dir, 'cache'),
      pollIntervalMs: 60_000,
      sessionTimeoutMs: 10_000,
      files: [{key: 'game/conf.ini', dest, reload: 'reload', reloadTimeoutMs: 60_000, waitMs: 0}],
    }
    const agent = new Agent({config, logger: silentLogger, agentVersion: 'test', source, run})
    await agent.start()
    changed('game/conf.ini') // as a watch would say
    while (calls.length === 0) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(readFileSync(dest, 'utf8'), 'new\n', 'in place while its reload runs')
    agent.abortCommands()
    await agent.stop()
    assert.equal(calls[0].options.signal?.aborted, true)
    assert.equal(readFileSync(dest, 'utf8'), 'old\n')
    assert.equal(agent.files[0].state.status, 'reload-failed')
  })
})
