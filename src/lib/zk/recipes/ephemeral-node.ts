// One EPHEMERAL znode kept holding the latest data, as Curator's PersistentNode in EPHEMERAL mode: it
// goes away with its session (a crash, a lost host), so after a new session it is created again with
// the last data set; close() removes it at once, optionally in one multi with other operations (so a
// reader never sees the node gone without what was written beside it).
//
// A node already at the path but owned by another session is ours only if that session was ours (a
// session this client had, lingering until ZooKeeper expires it) or `mayReplace` says so (a dead
// earlier process); otherwise set() refuses: two live owners of one ephemeral node is a mistake.
import {unavailable} from '../../errors.js'
import {ZkConflictError, type ZkClient, type ZkOp, type ZkStat, type ZkStateChange} from '../zk-client.js'
import {Recipe} from './recipe.js'

export interface EphemeralNodeOptions {
  /** names the node in errors: "instance node" */
  name?: string
  /** what to check when another live session owns the node */
  takenHint?: string
  /** run before each create (e.g. learn the ACL policy from the parent, clear a stale marker) */
  beforeCreate?: () => Promise<void>
  /** a node owned by a session that was never ours: may it be replaced (its owner is dead)? */
  mayReplace?: () => Promise<boolean>
  /** failures of the re-create after a new session (nobody awaits it; the next set() retries) */
  onError?: (error: unknown) => void
}

export interface Removal {
  /** this session's node was removed */
  removed: boolean
  /** the multi with the extra operations failed; the node was removed alone */
  alsoFailed?: unknown
}

export class EphemeralNode extends Recipe {
  private data?: Buffer
  /** the session whose ephemeral node holds our data ('' none) */
  private ownedIn = ''
  /** every session of the client since start(): a node left by one of them is ours to replace */
  private readonly sessions = new Set<string>()
  private readonly name: string

  constructor(
    client: ZkClient,
    readonly path: string,
    private readonly options: EphemeralNodeOptions = {},
  ) {
    super(client, `ephemeral node ${path}`)
    this.name = options.name ?? 'ephemeral node'
  }

  /** The node exists with our data in the current session. */
  get owned(): boolean {
    return this.ownedIn !== '' && this.ownedIn === this.client.session && this.client.connected
  }

  /** Keep the node holding `data`: set it in this session, or create it. Remembered for a new session even when it fails. */
  async set(data: Buffer): Promise<void> {
    this.assertStarted()
    this.data = data
    const {client, path} = this
    const session = client.session
    if (session) this.sessions.add(session)
    if (this.ownedIn === session && session !== '') {
      const stat = await client.setData(path, data).catch((error: unknown) => {
        if (error instanceof ZkConflictError) return null // removed behind our back: create it below
        throw error
      })
      if (stat) return
    }

    const stat = await client.exists(path)
    if (stat) {
      if (stat.ephemeralOwner === session) {
        await client.setData(path, data)
        this.ownedIn = session
        return
      }

      if (!this.sessions.has(stat.ephemeralOwner) && !(await this.options.mayReplace?.())) {
        throw unavailable(`${this.name} ${path} belongs to another live session`, this.options.takenHint)
      }

      // Ours from an older session (or a dead earlier process): it lingers until ZooKeeper expires
      // it. Replace it, so the node is this session's and goes away with it.
      await client.remove(path).catch(() => undefined)
    }

    await this.options.beforeCreate?.()
    try {
      await client.create(path, data, true)
      this.ownedIn = client.session
    } catch (error) {
      if (error instanceof ZkConflictError) throw unavailable(`${this.name} ${path} was re-created meanwhile; retrying`)
      throw error
    }
  }

  /**
   * Stop re-creating the node and remove it while this session holds it (closing the client alone
   * would leave it until the session expires). `also` gives operations to commit in the same multi.
   */
  async remove(also?: (node: ZkStat) => Promise<ZkOp[]>): Promise<Removal> {
    const {client, path} = this
    this.close()
    const stat = client.connected ? await client.exists(path) : null
    if (!stat || stat.ephemeralOwner !== client.session) return {removed: false}
    try {
      await client.multi([...(also ? await also(stat) : []), {op: 'remove', path, version: stat.version}])
      return {removed: true}
    } catch (error) {
      // e.g. the node changed in between, or an extra op was refused: still withdraw the node.
      await client.remove(path)
      return {removed: true, alsoFailed: error}
    }
  }

  protected override started(): void {
    if (this.client.session) this.sessions.add(this.client.session)
  }

  protected stateChanged(change: ZkStateChange): void {
    if (change.state !== 'connected' && change.state !== 'reconnected') return
    this.sessions.add(change.session)
    if (change.newSession && this.data) this.set(this.data).catch((error: unknown) => this.options.onError?.(error))
  }
}
