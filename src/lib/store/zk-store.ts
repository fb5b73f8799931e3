// The ZooKeeper store.
//
//   <root>/config/<env>/<key>   exactly the bytes of the current version (zkCli `get` prints the file)
//   <root>/meta/<env>/<key>     JSON VersionMeta of that version
//
// Content and meta change together in one multi, guarded by the versions of both znodes, so two
// serve processes (or a write straight into ZooKeeper) can never interleave a half-update.
// Changes made behind serve's back are found by a scan of /config (src/lib/zk/recipes/children-scan.ts:
// any of its watches firing, any reconnect, and every scanIntervalMs as a safety net, since watches
// fire once and miss what happens before re-arming, re-run it).
import {conflict} from '../errors.js'
import {sha256, type VersionMeta} from '../model.js'
import {parseMeta, ZkLayout} from '../zk/layout.js'
import {ChildrenScan, type WatchedReads} from '../zk/recipes/children-scan.js'
import {sleep} from '../sleep.js'
import {ZkClient, ZkConflictError, type ZkOp} from '../zk/zk-client.js'
import type {ConfigStore, ForeignChange, StoredCurrent} from './types.js'

interface MetaRead {
  meta: VersionMeta
  statVersion: number
}

export class ZkStore implements ConfigStore {
  readonly mode = 'zookeeper' as const
  private readonly scan: ChildrenScan
  /** config leaf path -> mzxid last handled */
  private readonly seen = new Map<string, string>()
  private onForeign?: (change: ForeignChange) => Promise<void>
  private firstScanDone = false
  private readonly layout: ZkLayout
  /** envs whose instances/elections directories exist: agents of a new env report there */
  private readonly envsReady = new Set<string>()
  /**
   * Per key, what this store's own last commit left (the version, and the znode versions of content
   * and meta), so the next commit of the key is one multi without reading both znodes first. A stale
   * entry (a write behind serve's back, another serve) only makes that multi fail its version check:
   * a conflict, and the center reads again and retries.
   */
  private readonly committed = new Map<string, {version: number; contentStat: number; metaStat: number}>()

  constructor(
    readonly zk: ZkClient,
    readonly root: string,
    scanIntervalMs = 2000,
  ) {
    this.layout = new ZkLayout(root)
    // Every run is a full scan (a write can land anywhere below /config): the scope is not needed.
    // serve's own commits fire these watches too: a run a moment after the first event covers a burst
    // of them, so the scan's reads do not queue on the connection ahead of the next push's multi.
    this.scan = new ChildrenScan(zk, this.layout.config(), (reads) => this.scanConfig(reads), {intervalMs: scanIntervalMs, settleMs: 50})
  }

  get reachable(): boolean {
    return this.zk.connected
  }

  async start(): Promise<void> {
    try {
      await this.zk.waitConnected()
      for (const dir of this.layout.topDirs()) await this.zk.mkdirp(dir)
    } catch {
      // ZooKeeper is down at start: serve still starts, answers 503 and catches up when it returns.
    }
  }

  async close(): Promise<void> {
    this.scan.close()
    this.onForeign = undefined
  }

  async getMeta(env: string, key: string): Promise<VersionMeta | null> {
    return (await this.readMeta(env, key))?.meta ?? null
  }

  async get(env: string, key: string): Promise<StoredCurrent | null> {
    // Content and meta are two reads; a push between them shows as a sha mismatch: read again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const content = await this.zk.getData(this.configPath(env, key))
      const meta = await this.readMeta(env, key)
      if (!content || !meta) return null
      if (sha256(content.data) === meta.meta.sha256) return {meta: meta.meta, content: content.data}
      if (attempt === 2 && this.onForeign) {
        await this.onForeign({env, key, content: content.data, contentVersion: content.stat.version})
      }

      await sleep(20)
    }

    throw conflict(`conflict: ${env}/${key} is being changed; try again`)
  }

  async commit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number): Promise<void> {
    const configPath = this.configPath(env, key)
    const metaPath = this.metaPath(env, key)
    const id = `${env}/${key}`
    let stats = this.committed.get(id)
    if (stats?.version !== previous) {
      // Both reads at once: a push is on the path every agent waits for.
      const [current, contentStat] = await Promise.all([this.readMeta(env, key), this.zk.exists(configPath)])
      if ((current?.meta.version ?? 0) !== previous) {
        throw conflict(`conflict: ${env}/${key} is at version ${current?.meta.version ?? 0}, not ${previous}`)
      }

      if (!current || !contentStat) await this.ensureParents(configPath, metaPath)
      if (!current) await this.ensureEnv(env)
      stats = {version: previous, contentStat: contentStat?.version ?? -1, metaStat: current?.statVersion ?? -1}
    }

    const ops: ZkOp[] = [
      stats.contentStat >= 0 ? {op: 'set', path: configPath, data: content, version: stats.contentStat} : {op: 'create', path: configPath, data: content},
      stats.metaStat >= 0 ? {op: 'set', path: metaPath, data: Buffer.from(JSON.stringify(meta)), version: stats.metaStat} : {op: 'create', path: metaPath, data: Buffer.from(JSON.stringify(meta))},
    ]
    this.committed.delete(id)
    await this.multi(env, key, ops)
    // A set adds one to a znode's version; a create starts it at 0.
    this.committed.set(id, {version: meta.version, contentStat: stats.contentStat + 1, metaStat: stats.metaStat + 1})
    this.seen.set(configPath, '') // our own write: the scan compares sha with meta and finds them equal
  }

  async commitForeign(change: ForeignChange, meta: VersionMeta, previous: number): Promise<void> {
    this.committed.delete(`${change.env}/${change.key}`)
    const current = await this.readMeta(change.env, change.key)
    if ((current?.meta.version ?? 0) !== previous) throw conflict(`conflict: ${change.env}/${change.key} moved on`)
    const metaPath = this.metaPath(change.env, change.key)
    await this.ensureParents(metaPath)
    await this.multi(change.env, change.key, [
      {op: 'check', path: this.configPath(change.env, change.key), version: change.contentVersion},
      current
        ? {op: 'set', path: metaPath, data: Buffer.from(JSON.stringify(meta)), version: current.statVersion}
        : {op: 'create', path: metaPath, data: Buffer.from(JSON.stringify(meta))},
    ])
  }

  async envs(): Promise<string[]> {
    return (await this.zk.getChildren(this.layout.meta())) ?? []
  }

  async list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    const out: Array<{key: string; meta: VersionMeta}> = []
    const walk = async (relative: string): Promise<void> => {
      const path = this.layout.meta(env, relative || undefined)
      const [node, children] = await Promise.all([relative ? this.zk.getData(path) : null, this.zk.getChildren(path)])
      const meta = node ? parseMeta(node.data) : null
      if (meta) out.push({key: relative, meta})
      await Promise.all((children ?? []).map((child) => walk(relative ? `${relative}/${child}` : child)))
    }

    await walk('')
    return out.sort((a, b) => a.key.localeCompare(b.key))
  }

  watchForeign(onForeign: (change: ForeignChange) => Promise<void>): void {
    this.onForeign = onForeign
    // A failed run (ZooKeeper down) is retried by the next trigger.
    this.scan.start()
  }

  /**
   * Find config leaves whose bytes no longer match their meta (written straight into ZooKeeper), and
   * leaves that went away. Two things here are not out-of-band changes:
   * - a parent znode (`game/conf.d` of `game/conf.d/rates.ini`) is childless for a moment while serve
   *   creates a new key's path, and again when its last key is deleted: an empty, childless node with
   *   no meta is a parent, not a key;
   * - a key serve commits while this scan walks was not there when the walk passed by: only leaves
   *   known before the scan began can have been deleted.
   */
  private async scanConfig(reads: WatchedReads): Promise<void> {
    if (!this.onForeign) return
    const known = [...this.seen.keys()]
    const found = new Set<string>()
    const walk = async (env: string, relative: string): Promise<void> => {
      const path = this.layout.config(env, relative || undefined)
      const children = await reads.children(path)
      if (children === null) return
      if (children.length === 0 && relative.includes('/')) {
        if (await this.checkLeaf(reads, env, relative, path)) found.add(path)
        return
      }

      await Promise.all(children.map((child) => walk(env, relative ? `${relative}/${child}` : child)))
    }

    const envs = (await reads.children(this.layout.config())) ?? []
    await Promise.all(envs.map((env) => walk(env, '')))
    for (const path of known) {
      if (found.has(path) || !this.seen.has(path)) continue
      this.seen.delete(path)
      const where = this.layout.locate(path)
      if (this.firstScanDone && where?.env && where.rest) await this.onForeign?.({env: where.env, key: where.rest, content: null, contentVersion: -1})
    }

    this.firstScanDone = true
  }

  /** Checks one childless config node; false when it is not a key (gone, or an empty parent). */
  private async checkLeaf(reads: WatchedReads, env: string, key: string, path: string): Promise<boolean> {
    const node = await reads.data(path)
    if (!node) return false
    if (this.seen.get(path) === node.stat.mzxid) return true
    const meta = await this.getMeta(env, key)
    if (!meta && node.data.length === 0) return false
    if (!meta || meta.sha256 !== sha256(node.data)) {
      await this.onForeign?.({env, key, content: node.data, contentVersion: node.stat.version})
    }

    this.seen.set(path, node.stat.mzxid)
    return true
  }

  private async multi(env: string, key: string, ops: ZkOp[]): Promise<void> {
    try {
      await this.zk.multi(ops)
    } catch (error) {
      if (error instanceof ZkConflictError) throw conflict(`conflict: ${env}/${key} changed while writing`)
      throw error
    }
  }

  /** Only serve may create children of instances/ and elections/, so it makes a new env's directories. */
  private async ensureEnv(env: string): Promise<void> {
    if (this.envsReady.has(env)) return
    for (const dir of this.layout.envDirs(env)) await this.zk.mkdirp(dir)
    this.envsReady.add(env)
  }

  private async ensureParents(...paths: string[]): Promise<void> {
    for (const path of paths) await this.zk.mkdirp(path.slice(0, path.lastIndexOf('/')))
  }

  private async readMeta(env: string, key: string): Promise<MetaRead | null> {
    const node = await this.zk.getData(this.metaPath(env, key))
    const meta = node ? parseMeta(node.data) : null
    return meta && node ? {meta, statVersion: node.stat.version} : null
  }

  private configPath(env: string, key: string): string {
    return this.layout.config(env, key)
  }

  private metaPath(env: string, key: string): string {
    return this.layout.meta(env, key)
  }
}
