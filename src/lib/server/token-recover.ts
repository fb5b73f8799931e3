// `stconf token recover`: a new admin token made straight in a data dir, for whoever can write it (the
// first admin token was lost, or the last admin left). Local only, never over HTTP, and never under a
// running serve: it takes the same data-dir lock serve holds.
import {existsSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join, resolve} from 'node:path'
import {badInput} from '../errors.js'
import {fileError} from '../fs-errors.js'
import {AuditLog} from './audit.js'
import {lockDataDir} from './data-lock.js'
import {TokenStore} from './tokens.js'

export async function recoverAdminToken(dataDirArg: string, name: string): Promise<{name: string; role: 'admin'; token: string}> {
  const dataDir = resolve(dataDirArg)
  if (!existsSync(join(dataDir, 'tokens.json'))) {
    throw badInput(`${dataDir} is not a stconf data dir (no tokens.json)`, 'pass the --data dir that `stconf serve` uses')
  }

  let release: () => Promise<void>
  try {
    release = await lockDataDir(dataDir, 'stop that serve first, or make the token through it: stconf token create <name> --role admin')
  } catch (error) {
    throw fileError(error, 'lock', join(dataDir, 'serve.lock'))
  }

  try {
    const tokens = await TokenStore.open(dataDir)
    const token = await tokens.create(name, 'admin')
    await new AuditLog(dataDir).record({actor: `local:${localUser()}`, action: 'token-recover', detail: `${name} (admin)`})
    return {name, role: 'admin', token}
  } catch (error) {
    throw fileError(error, 'write', dataDir)
  } finally {
    await release()
  }
}

function localUser(): string {
  try {
    return userInfo().username
  } catch {
    return String(process.getuid?.() ?? 'unknown') // no passwd entry (some containers)
  }
}
