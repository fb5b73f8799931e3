// The one retry pacing (src/lib/backoff.ts) and the one sleep it waits with (src/lib/sleep.ts). The
// clock is node:test's mock timers: no test here waits for real time to pass.
import assert from 'node:assert/strict'
import {getEventListeners} from 'node:events'
import {afterEach, beforeEach, describe, it, mock} from 'node:test'
import {nextBackoff, retry, TRY_AGAIN} from '../../src/lib/backoff.js'
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

describe('retry (the one bounded retry)', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  const exhausted = () => new Error('gave up')

  it('returns the first answer that is not TRY_AGAIN, without waiting after it', async () => {
    const tries: number[] = []
    const result = await retry({tries: 5, firstDelayMs: 25, exhausted}, async (n) => {
      tries.push(n)
      return n === 1 ? 'done' : TRY_AGAIN
    })
    assert.equal(result, 'done')
    assert.deepEqual(tries, [1])
  })

  it('waits the doubling back-off between tries, capped', async () => {
    const tries: number[] = []
    const pending = retry({tries: 5, firstDelayMs: 50, maxDelayMs: 150, exhausted}, async (n) => {
      tries.push(n)
      return n === 4 ? n : TRY_AGAIN
    })
    for (const [wait, triesAfter] of [[49, 1], [1, 2], [99, 2], [1, 3], [149, 3], [1, 4]] as const) {
      await new Promise((resolve) => setImmediate(resolve)) // the try before has run and set its wait
      mock.timers.tick(wait)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(tries.length, triesAfter, `after ${wait} more ms`)
    }

    assert.equal(await pending, 4)
  })

  it('throws exhausted() after the last try said TRY_AGAIN', async () => {
    let count = 0
    const pending = retry({tries: 3, firstDelayMs: 10, exhausted}, async () => {
      count++
      return TRY_AGAIN
    })
    const rejected = assert.rejects(pending, /gave up/)
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      mock.timers.tick(1000)
    }

    await rejected
    assert.equal(count, 3)
  })

  it('does not retry an error the attempt throws', async () => {
    let count = 0
    await assert.rejects(retry({tries: 5, firstDelayMs: 10, exhausted}, async () => {
      count++
      throw new Error('refused')
    }), /refused/)
    assert.equal(count, 1)
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
