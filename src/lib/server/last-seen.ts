// serve's memory of every instance it has seen: a small lowdb document (<data>/instances.json), so a
// crashed host is still listed as offline after serve restarts. Behind a small interface so a shared
// database can hold it when several serve processes share one ZooKeeper (design.md, "Storage").
import {join} from 'node:path'
import type {Low} from 'lowdb'
import type {InstanceReport} from '../agent/types.js'
import type {Presence} from '../fleet.js'
import {openJson} from './json-file.js'

export interface RememberedInstance {
  env: string
  instance: string
  report: InstanceReport
  via: 'zk' | 'http'
  presence: Presence
  since: string
  lastSeen: string
  /** http source: the promised heartbeat interval (offline after 3 missed) */
  intervalMs?: number
}

export interface LastSeenStore {
  load(): Promise<RememberedInstance[]>
  /** Replace the whole set (the registry's current entries); writes are coalesced. */
  save(entries: () => RememberedInstance[]): Promise<void>
  close(): Promise<void>
}

export class JsonLastSeenStore implements LastSeenStore {
  private writing: Promise<void> = Promise.resolve()
  private queued?: Promise<void>

  private constructor(private readonly db: Low<{instances: RememberedInstance[]}>) {}

  static async open(dataDir: string): Promise<JsonLastSeenStore> {
    return new JsonLastSeenStore(await openJson(join(dataDir, 'instances.json'), {instances: [] as RememberedInstance[]}))
  }

  async load(): Promise<RememberedInstance[]> {
    return this.db.data.instances
  }

  /**
   * At most one write runs and at most one waits; a waiting write takes the entries as they are
   * when it starts, so a burst of reports costs two file writes, not one per report.
   */
  save(entries: () => RememberedInstance[]): Promise<void> {
    this.queued ??= this.writing
      .catch(() => undefined)
      .then(async () => {
        this.queued = undefined
        this.db.data = {instances: entries()}
        await this.db.write()
      })
    this.writing = this.queued
    return this.queued
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined)
  }
}
