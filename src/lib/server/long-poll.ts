// Holding a request open until something happens: the shared waiting of the watch and rollout
// long-polls. A hold ends at its deadline, when woken, when the client goes away, and at once when
// serve stops (preClose), so a shutdown never waits for a minute of pending polls.
import type {FastifyInstance, FastifyReply} from 'fastify'

export class LongPolls {
  private closing = false
  private readonly sleepers = new Set<() => void>()

  constructor(app: FastifyInstance) {
    app.addHook('preClose', async () => {
      this.closing = true
      for (const wakeUp of this.sleepers) wakeUp()
    })
  }

  get stopping(): boolean {
    return this.closing
  }

  /**
   * Subscribe first, then check, then hold: `subscribe(wake)` must register a listener that calls
   * wake() on a relevant event and return its unsubscribe. Resolves true when woken by an event.
   */
  hold(reply: FastifyReply, ms: number, subscribe: (wake: () => void) => () => void): {woken: Promise<boolean>; cancel: () => void} {
    let done: (byEvent: boolean) => void = () => undefined
    const woken = new Promise<boolean>((resolve) => {
      let finished = false
      done = (byEvent: boolean) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        reply.raw.off('close', onClose)
        this.sleepers.delete(onStop)
        unsubscribe()
        resolve(byEvent)
      }

      const onClose = () => done(false) // the client went away
      const onStop = () => done(false)
      const timer = setTimeout(() => done(false), Math.max(0, ms))
      reply.raw.once('close', onClose)
      this.sleepers.add(onStop)
      if (this.closing) queueMicrotask(onStop)
    })
    const unsubscribe = subscribe(() => done(true))
    return {woken, cancel: () => done(false)}
  }
}
