// The audit log: one small lowdb file per UTC day (<data>/audit/2026-11-22.json), append-only.
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {openJson} from './json-file.js'

export interface AuditEntry {
  time: string
  actor: string
  action: string
  env?: string
  key?: string
  version?: number
  detail?: string
}

export class AuditLog {
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly dataDir: string, private readonly now: () => Date = () => new Date()) {}

  async record(entry: Omit<AuditEntry, 'time'>): Promise<void> {
    const time = this.now().toISOString()
    // One writer at a time: two appends to the same day's file must not race.
    const write = this.queue.then(async () => {
      const db = await openJson<AuditEntry[]>(this.dayPath(time.slice(0, 10)), [])
      db.data.push({time, ...entry})
      await db.write()
    })
    this.queue = write.catch(() => undefined)
    await write
  }

  /** Entries at or after `since`, oldest first, at most `limit` (the newest ones). */
  async list(since?: Date, limit = 1000): Promise<AuditEntry[]> {
    const dir = join(this.dataDir, 'audit')
    const days = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d{4}-\d{2}-\d{2}\.json$/.test(n)).sort()
    const sinceDay = since?.toISOString().slice(0, 10)
    const out: AuditEntry[] = []
    for (const day of days) {
      if (sinceDay && day.slice(0, 10) < sinceDay) continue
      const db = await openJson<AuditEntry[]>(join(dir, day), [])
      out.push(...db.data.filter((e) => !since || e.time >= since.toISOString()))
    }

    return out.slice(-limit)
  }

  private dayPath(day: string): string {
    return join(this.dataDir, 'audit', `${day}.json`)
  }
}
