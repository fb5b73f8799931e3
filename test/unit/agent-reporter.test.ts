// When the agent's report goes out (reporter.ts), with node:test's mocked setTimeout as the clock.
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it, mock} from 'node:test'
import {RefusalLog} from '../../src/lib/agent/refusals.js'
import {Reporter} from '../../src/lib/agent/reporter.js'
import {silentLogger} from '../../src/lib/agent/types.js'

/** A send whose answers the test gives: each call waits until resolved or rejected. */
function controlledSend() {
  const calls: Array<{resolve: () => void; reject: (error: Error) => void}> = []
  const send = () => new Promise<void>((resolve, reject) => calls.push({resolve, reject}))
  return {send, calls}
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('Reporter', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  it('several changes within 20 ms give one report', () => {
    const {send, calls} = controlledSend()
    const reporter = new Reporter(send, new RefusalLog(silentLogger))
    reporter.schedule()
    reporter.schedule()
    mock.timers.tick(10)
    reporter.schedule()
    mock.timers.tick(10)
    assert.equal(calls.length, 1)
  })

  it('a change while a report is in flight sends once more, right after it, never two at once', async () => {
    const {send, calls} = controlledSend()
    const reporter = new Reporter(send, new RefusalLog(silentLogger))
    reporter.schedule()
    mock.timers.tick(20)
    reporter.schedule()
    mock.timers.tick(20)
    assert.equal(calls.length, 1, 'the second waits for the first')
    calls[0].resolve()
    await settle()
    mock.timers.tick(20)
    assert.equal(calls.length, 2)
  })

  it('a failed report is sent again when the poll says the center is back; a sent one is not', async () => {
    const {send, calls} = controlledSend()
    const reporter = new Reporter(send, new RefusalLog(silentLogger))
    reporter.schedule()
    mock.timers.tick(20)
    calls[0].reject(new Error('center down'))
    await settle()
    reporter.retryIfFailed()
    mock.timers.tick(20)
    assert.equal(calls.length, 2, 'sent again')
    calls[1].resolve()
    await settle()
    reporter.retryIfFailed()
    mock.timers.tick(20)
    assert.equal(calls.length, 2, 'not sent again once it went through')
  })

  it('sends nothing after stop', async () => {
    const {send, calls} = controlledSend()
    const reporter = new Reporter(send, new RefusalLog(silentLogger))
    reporter.schedule()
    await reporter.stop()
    reporter.schedule()
    mock.timers.tick(100)
    assert.equal(calls.length, 0)
  })
})
