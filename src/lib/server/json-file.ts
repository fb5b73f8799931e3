// lowdb with a durable adapter: lowdb's own JSONFile renames without fsync, so a crash right after an
// acknowledged write could lose it. Each file is kept small by the callers (sharded by key or by day),
// because lowdb rewrites the whole file on every write.
import {readFile} from 'node:fs/promises'
import {Low, type Adapter} from 'lowdb'
import {writeFileAtomic} from '../fs-atomic.js'

class DurableJsonFile<T> implements Adapter<T> {
  constructor(private readonly path: string, private readonly mode: number) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async write(data: T): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(data, null, 1) + '\n', this.mode)
  }
}

export async function openJson<T>(path: string, defaults: T, mode = 0o600): Promise<Low<T>> {
  const db = new Low<T>(new DurableJsonFile<T>(path, mode), defaults)
  await db.read()
  return db
}
