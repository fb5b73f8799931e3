// One znode followed by a watch, as Curator's NodeCache but without keeping the data: ZooKeeper's
// watches fire once and a change between the event and the re-arm is not reported, so an event only
// ever means "read it again". The watch is a data watch while the node exists and an existence watch
// while it does not (a getData on an absent node leaves none).
//
// The listener hears every event at once, with the read that re-arms the watch (await it for the new
// data, or ignore it and read when convenient): a change costs no round-trip beyond that read. It
// hears the same after each (re)connect, since events may have been missed meanwhile; after a new
// session that read is what re-arms the watch.
import type {ZkClient, ZkStat, ZkStateChange} from '../zk-client.js'
import {ArmedWatches, Recipe} from './recipe.js'

export interface ZkNode {
  data: Buffer
  stat: ZkStat
}

export type NodeListener = (reread: Promise<ZkNode | null>) => void

export class NodeWatch extends Recipe {
  private readonly watches: ArmedWatches

  constructor(
    client: ZkClient,
    readonly path: string,
    private readonly listener: NodeListener,
  ) {
    super(client, `node watch ${path}`)
    this.watches = new ArmedWatches(client)
  }

  /** The watch is armed in the current session (false while a read that arms it failed or is owed). */
  get armed(): boolean {
    return this.watches.isArmed('node')
  }

  /** The node now (null: absent), leaving a watch on it unless one is armed in this session. */
  async read(): Promise<ZkNode | null> {
    this.assertStarted()
    const watcher = this.watches.arm('node', () => this.changed())
    if (!watcher) return this.client.getData(this.path)
    try {
      const node = await this.client.getData(this.path, watcher)
      if (node) return node
      // Absent (never created, or deleted): an existence watch says when it comes (back).
      if (await this.client.exists(this.path, watcher)) this.changed(false) // created between the two calls
      return null
    } catch (error) {
      this.watches.disarm('node')
      throw error
    }
  }

  protected override started(): void {
    // A client already connected (shared) sends no 'connected': arm now. Otherwise the first
    // connection does it, or the first read.
    if (this.client.connected) this.read().catch(() => undefined)
  }

  protected stateChanged(change: ZkStateChange): void {
    if (change.state === 'connected' || change.state === 'reconnected') this.changed()
  }

  /** Re-read first (it re-arms), then tell: a change between the event and the re-arm is in the read. */
  private changed(rearm = true): void {
    if (this.isClosed) return
    const reread = rearm ? this.read() : this.client.getData(this.path)
    reread.catch(() => undefined) // unreachable: the listener's own read (or the caller's poll) retries
    this.listener(reread)
  }
}
