// What every recipe shares, as in Apache Curator: an explicit life cycle (latent -> started ->
// closed, each step once), one subscription to the wrapper's connection states for as long as it is
// started, and silence once closed (a watch that fires later finds a closed recipe and does nothing).
import type {ZkClient, ZkStateChange} from '../zk-client.js'

export type RecipeState = 'latent' | 'started' | 'closed'

export abstract class Recipe {
  private lifecycle: RecipeState = 'latent'
  private unsubscribe?: () => void

  constructor(
    protected readonly client: ZkClient,
    /** names the recipe in errors: "node watch /stconf/meta/prod/app.ini" */
    protected readonly what: string,
  ) {}

  get state(): RecipeState {
    return this.lifecycle
  }

  /** Begin: subscribe to connection states. A second start(), or one after close(), is a bug and throws. */
  start(): void {
    if (this.lifecycle !== 'latent') throw new Error(`${this.what}: start() on a ${this.lifecycle} recipe - a recipe starts once`)
    this.lifecycle = 'started'
    this.unsubscribe = this.client.onState((change) => {
      if (this.lifecycle === 'started') this.stateChanged(change)
    })
    this.started()
  }

  /** End: unsubscribe and ignore whatever fires later. A second close() does nothing. */
  close(): void {
    if (this.lifecycle === 'closed') return
    this.lifecycle = 'closed'
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.closed()
  }

  protected get isClosed(): boolean {
    return this.lifecycle === 'closed'
  }

  /** Reads and writes need a started recipe: before start() (or after close()) is a bug. */
  protected assertStarted(): void {
    if (this.lifecycle !== 'started') throw new Error(`${this.what}: used while ${this.lifecycle} - start() it first, and not after close()`)
  }

  protected started(): void {}
  protected closed(): void {}
  protected abstract stateChanged(change: ZkStateChange): void
}

/**
 * Which watches are armed in the current session. The raw client stacks one more listener per call
 * on a path (each fires), and every watch dies with its session: arm each id at most once per session.
 */
export class ArmedWatches {
  /** id -> the session its watch was left in */
  private readonly armed = new Map<string, string>()

  constructor(private readonly client: ZkClient) {}

  /** A watcher for `id`, or undefined when one is armed in this session already; `fire` runs when it fires. */
  arm(id: string, fire: () => void): (() => void) | undefined {
    const session = this.client.session
    if (this.armed.get(id) === session) return undefined
    this.armed.set(id, session)
    return () => {
      if (this.armed.get(id) === session) this.armed.delete(id)
      fire()
    }
  }

  isArmed(id: string): boolean {
    return this.armed.get(id) === this.client.session
  }

  /** The read that was to leave the watch failed, or left none (a data watch on an absent node). */
  disarm(id: string): void {
    this.armed.delete(id)
  }
}
