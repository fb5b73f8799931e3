// Holding a long-poll open (src/lib/server/long-poll.ts): a hold ends at its deadline, when woken by
// an event, when the client goes away, when cancelled, and at once when serve stops; whichever comes
// first wins and every listener it set is removed. Fastify is stood in for by the two things LongPolls
// uses (app.addHook('preClose'), reply.raw's 'close'); the clock is node:test's mock timers.
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {afterEach, beforeEach, describe, it, mock} from 'node:test'
import type {FastifyInstance, FastifyReply} from 'fastify'
import {LongPolls} from '../../src/lib/server/long-poll.js'
import {settled} from '../helpers/promises.js'

/** An app whose preClose hooks the test runs itself, as Fastify does on close(). */
function fakeApp() {
  const hooks: Array<() => Promise<void>> = []
  const app = {
    addHook(name: string, hook: () => Promise<void>) {
      assert.equal(name, 'preClose')
      hooks.push(hook)
    },
  } as unknown as FastifyInstance
  return {app, close: () => Promise.all(hooks.map((hook) => hook()))}
}

function fakeReply() {
  const raw = new EventEmitter()
  return {reply: {raw} as unknown as FastifyReply, raw}
}

/** An event source with one kind of event: counts who listens. */
function fakeEvents() {
  const listeners = new Set<() => void>()
  return {
    subscribe: (wake: () => void) => {
      listeners.add(wake)
      return () => listeners.delete(wake)
    },
    fire: () => {
      for (const wake of [...listeners]) wake()
    },
    get listening() {
      return listeners.size
    },
  }
}

describe('LongPolls.hold', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  it('ends at its deadline with false, and no longer listens', async () => {
    const {app} = fakeApp()
    const {reply, raw} = fakeReply()
    const events = fakeEvents()
    const hold = new LongPolls(app).hold(reply, 30_000, events.subscribe)
    assert.equal(events.listening, 1)
    mock.timers.tick(29_999)
    assert.equal(await settled(hold.woken), false)
    mock.timers.tick(1)
    assert.equal(await hold.woken, false)
    assert.equal(events.listening, 0)
    assert.equal(raw.listenerCount('close'), 0)
  })

  it('ends with true when an event wakes it before the deadline', async () => {
    const {app} = fakeApp()
    const {reply, raw} = fakeReply()
    const events = fakeEvents()
    const hold = new LongPolls(app).hold(reply, 30_000, events.subscribe)
    mock.timers.tick(5000)
    events.fire()
    assert.equal(await hold.woken, true)
    assert.equal(events.listening, 0)
    assert.equal(raw.listenerCount('close'), 0)
  })

  it('ends with false when the client goes away', async () => {
    const {app} = fakeApp()
    const {reply, raw} = fakeReply()
    const events = fakeEvents()
    const hold = new LongPolls(app).hold(reply, 30_000, events.subscribe)
    raw.emit('close')
    assert.equal(await hold.woken, false)
    assert.equal(events.listening, 0)
  })

  it('ends with false when cancelled', async () => {
    const {app} = fakeApp()
    const {reply} = fakeReply()
    const events = fakeEvents()
    const hold = new LongPolls(app).hold(reply, 30_000, events.subscribe)
    hold.cancel()
    assert.equal(await hold.woken, false)
    assert.equal(events.listening, 0)
  })

  it('settles once: what comes after the first ending changes nothing', async () => {
    const {app} = fakeApp()
    const {reply, raw} = fakeReply()
    const events = fakeEvents()
    let unsubscribed = 0
    const hold = new LongPolls(app).hold(reply, 1000, (wake) => {
      const off = events.subscribe(wake)
      return () => {
        unsubscribed++
        off()
      }
    })
    raw.emit('close')
    hold.cancel()
    mock.timers.tick(1000)
    assert.equal(await hold.woken, false, 'the first ending (the client went away) is the answer')
    assert.equal(unsubscribed, 1)
  })

  it('treats a deadline already past as "now"', async () => {
    const {app} = fakeApp()
    const {reply} = fakeReply()
    const hold = new LongPolls(app).hold(reply, -50, fakeEvents().subscribe)
    mock.timers.tick(0)
    assert.equal(await hold.woken, false)
  })

  it('ends every hold at once when serve stops, and a hold begun while stopping too', async () => {
    const {app, close} = fakeApp()
    const polls = new LongPolls(app)
    const events = fakeEvents()
    const first = polls.hold(fakeReply().reply, 60_000, events.subscribe)
    const second = polls.hold(fakeReply().reply, 60_000, events.subscribe)
    assert.equal(polls.stopping, false)
    await close()
    assert.equal(polls.stopping, true)
    assert.deepEqual(await Promise.all([first.woken, second.woken]), [false, false])
    const late = polls.hold(fakeReply().reply, 60_000, events.subscribe)
    assert.equal(await late.woken, false, 'no clock tick needed')
    assert.equal(events.listening, 0)
  })
})
