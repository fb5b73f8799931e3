// Opens what serve keeps in its data dir beside tokens: history and audit. Everything that reads or
// writes them (serve, local recovery commands) opens them here, so an old layout is migrated first.
import {AuditLog} from './audit.js'
import {History} from './history.js'
import {migrateDataDir, type Migration} from './migrate.js'

export interface Storage {
  history: History
  audit: AuditLog
  /** what this call migrated from the old layout; null when there was nothing to migrate */
  migration: Migration | null
}

export async function openStorage(dataDir: string): Promise<Storage> {
  const migration = await migrateDataDir(dataDir)
  return {history: new History(dataDir), audit: new AuditLog(dataDir), migration}
}
