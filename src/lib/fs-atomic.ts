// Durable file writes: a reader sees the old bytes or the new ones, never a mix, and what was
// acknowledged survives a crash (temp file in the same directory, fsync, rename, fsync the directory).
import {randomBytes} from 'node:crypto'
import {mkdir, open, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, {recursive: true})
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (error) {
    await handle.close()
    await rm(temp, {force: true})
    throw error
  }

  await handle.close()
  try {
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }

  await syncDir(dir)
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
