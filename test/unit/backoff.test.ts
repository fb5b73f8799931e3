// The one retry pacing (src/lib/backoff.ts) and the one sleep it waits with (src/lib/sleep.ts). The
// clock is node:test's mock timers: no test here waits for real time to pass.
import assert from 'node:assert/strict'
import {getEventListeners} from 'node:events'
import {afterEach, beforeEach, describe, it, mock} from 'node:test'
import {nextBackoff} from '../../src/lib/backoff.js'
import {sleep} from '../../src/lib/sleep.js'
import {settled} from '../helpers/promises.js'

describe('nextBackoff', () => {
  it('starts at the minimum after a success (0)', () => {
    assert.equal(nextBackoff(0), 250)
    assert.equal(nextBackoff(0, 100, 1000), 100)
  })

  it('doubles after each failure up to the maximum, then stays there', () => {
    const waits: number[] = []
    let wait = 0
    for (let i = 0; i < 8; i++) waits.push((wait = nextBackoff(wait)))
    assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000])
  })

  it('never goes below the minimum or above the maximum it is given', () => {
    assert.equal(nextBackoff(10, 100, 1000), 100, 'a previous wait below the minimum')
    assert.equal(nextBackoff(800, 100, 1000), 1000, 'a doubling past the maximum')
    assert.equal(nextBackoff(60_000, 100, 1000), 1000, 'a previous wait above the maximum')
  })
})

describe('sleep(ms, signal)', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  it('resolves when its time has passed, not before', async () => {
    const pending = sleep(1000)
    mock.timers.tick(999)
    assert.equal(await settled(pending), false)
    mock.timers.tick(1)
    assert.equal(await settled(pending), true)
  })

  it('resolves at once, without a timer or a listener, when the signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const pending = sleep(60_000, controller.signal)
    assert.equal(await settled(pending), true, 'no time passed on the clock')
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  })

  it('resolves early when the signal aborts while it sleeps, and its timer is gone', async () => {
    const controller = new AbortController()
    const pending = sleep(60_000, controller.signal)
    mock.timers.tick(10)
    assert.equal(await settled(pending), false)
    controller.abort()
    assert.equal(await settled(pending), true)
    // A timer left behind would fire into a resolved promise; none is left to run.
    mock.timers.tick(60_000)
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  })

  it('drops its abort listener when the timer fires (one long-lived signal, many sleeps)', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 5; i++) {
      const pending = sleep(100, controller.signal)
      assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
      mock.timers.tick(100)
      await pending
    }

    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  })
})
