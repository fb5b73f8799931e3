// Instance events for agents that report through ZooKeeper (an ephemeral node per instance under
// <root>/instances/<env>): a children watch tells joins and leaves, a data watch on each node tells
// new reports. Watches fire once and die with the session, so each one re-arms by reading again, and
// a new session or a reconnect re-reads every followed env (what happened meanwhile is published too).
import type {ZkClient} from '../zk/zk-client.js'
import {zkPath} from '../zk/zk-client.js'
import type {FeedEvent} from './event-hub.js'

export class ZkInstanceWatch {
  private readonly envs = new Set<string>()
  private readonly armed = new Set<string>()
  private readonly hosts = new Map<string, Set<string>>()
  private closed = false

  constructor(
    private readonly zk: ZkClient,
    private readonly root: string,
    private readonly publish: (event: FeedEvent) => void,
  ) {
    zk.on('session', this.onSession)
    zk.on('connected', this.onConnected)
  }

  /** Start publishing instance events of `env` (idempotent; an env followed once stays followed). */
  follow(env: string): void {
    if (this.envs.has(env) || this.closed) return
    this.envs.add(env)
    void this.readEnv(env)
  }

  close(): void {
    this.closed = true
    this.zk.off('session', this.onSession)
    this.zk.off('connected', this.onConnected)
  }

  private readonly onSession = () => this.armed.clear()
  private readonly onConnected = () => {
    for (const env of this.envs) void this.readEnv(env)
  }

  private async readEnv(env: string): Promise<void> {
    if (this.closed) return
    const dir = zkPath(this.root, 'instances', env)
    try {
      let children = await this.zk.getChildren(dir, this.watcher(`children:${dir}`, () => this.readEnv(env)))
      if (children === null) {
        this.armed.delete(`children:${dir}`) // no node, no watch: wait for it to be created
        await this.zk.exists(dir, this.watcher(`exists:${dir}`, () => this.readEnv(env)))
        children = []
      }

      const before = this.hosts.get(env) ?? new Set<string>()
      const now = new Set(children)
      this.hosts.set(env, now)
      for (const host of before) if (!now.has(host)) this.publish({type: 'instance', env, host, online: false})
      for (const host of now) {
        if (!before.has(host)) this.publish({type: 'instance', env, host, online: true})
        void this.readHost(env, host)
      }
    } catch {
      this.armed.delete(`children:${dir}`) // ZooKeeper unreachable: 'connected' reads again
    }
  }

  private async readHost(env: string, host: string): Promise<void> {
    if (this.closed) return
    const path = zkPath(this.root, 'instances', env, host)
    try {
      const node = await this.zk.getData(
        path,
        this.watcher(`data:${path}`, () => {
          if (!this.hosts.get(env)?.has(host)) return // gone: the children watch said so
          this.publish({type: 'instance', env, host, online: true})
          return this.readHost(env, host)
        }),
      )
      if (node === null) this.armed.delete(`data:${path}`)
    } catch {
      this.armed.delete(`data:${path}`)
    }
  }

  /** A watcher only when none is armed for this id: the raw client stacks duplicate listeners. */
  private watcher(id: string, fire: () => Promise<void> | void): (() => void) | undefined {
    if (this.armed.has(id)) return undefined
    this.armed.add(id)
    return () => {
      this.armed.delete(id)
      if (!this.closed) void fire()
    }
  }
}
