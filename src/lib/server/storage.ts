// Opens what serve keeps in its data dir beside tokens: history and audit, after migrating an old
// layout (History and AuditLog also migrate on their own first use, so a local command that opens
// just one of them cannot write a journal beside an unmigrated layout).
import {AuditLog} from './audit.js'
import {History} from './history.js'
import {migrateOnce, type Migration} from './migrate.js'

export interface Storage {
  history: History
  audit: AuditLog
  /** what this call migrated from the old layout; null when there was nothing to migrate */
  migration: Migration | null
}

export async function openStorage(dataDir: string): Promise<Storage> {
  const migration = await migrateOnce(dataDir)
  return {history: new History(dataDir), audit: new AuditLog(dataDir), migration}
}
