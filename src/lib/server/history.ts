// Version history and content blobs in serve's data dir.
//
//   <data>/blobs/ab/abcdef...            content by sha256, written once
//   <data>/history/<env>/<key>/000000.json   versions 1..1000 of (env, key), then 000001.json ...
//
// History is sharded by key and by 1000 versions, so a push rewrites one small file whatever the
// size of the whole history (lowdb rewrites its file on every write).
import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {VersionMeta} from '../model.js'
import {sha256} from '../model.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {openJson} from './json-file.js'

const CHUNK = 1000

/** A key as one file-name-safe path segment. */
export function encodeKey(key: string): string {
  return encodeURIComponent(key)
}

export class History {
  private readonly lastVersions = new Map<string, number>()

  constructor(private readonly dataDir: string) {}

  async putBlob(content: Buffer): Promise<string> {
    const hash = sha256(content)
    const path = this.blobPath(hash)
    const exists = await stat(path).then(
      () => true,
      () => false,
    )
    if (!exists) await writeFileAtomic(path, content, 0o600)
    return hash
  }

  async getBlob(hash: string): Promise<Buffer | null> {
    try {
      return await readFile(this.blobPath(hash))
    } catch {
      return null
    }
  }

  /** The highest version ever recorded for (env, key); 0 when none. */
  async lastVersion(env: string, key: string): Promise<number> {
    const id = `${env}/${key}`
    const cached = this.lastVersions.get(id)
    if (cached !== undefined) return cached
    const chunks = await this.chunks(env, key)
    let last = 0
    if (chunks.length > 0) {
      const db = await openJson<VersionMeta[]>(this.chunkPath(env, key, chunks.at(-1)!), [])
      last = db.data.at(-1)?.version ?? 0
    }

    this.lastVersions.set(id, last)
    return last
  }

  async append(env: string, key: string, meta: VersionMeta): Promise<void> {
    const last = await this.lastVersion(env, key)
    if (meta.version <= last) throw new Error(`history of ${env}/${key}: version ${meta.version} is not after ${last}`)
    const db = await openJson<VersionMeta[]>(this.chunkPath(env, key, Math.floor((meta.version - 1) / CHUNK)), [])
    db.data.push(meta)
    await db.write()
    this.lastVersions.set(`${env}/${key}`, meta.version)
  }

  async get(env: string, key: string, version: number): Promise<VersionMeta | null> {
    const db = await openJson<VersionMeta[]>(this.chunkPath(env, key, Math.floor((version - 1) / CHUNK)), [])
    return db.data.find((m) => m.version === version) ?? null
  }

  /** Newest first, at most `limit` entries. */
  async list(env: string, key: string, limit = 100): Promise<VersionMeta[]> {
    const out: VersionMeta[] = []
    const chunks = await this.chunks(env, key)
    for (let i = chunks.length - 1; i >= 0 && out.length < limit; i--) {
      const db = await openJson<VersionMeta[]>(this.chunkPath(env, key, chunks[i]), [])
      out.push(...db.data.slice().reverse())
    }

    return out.slice(0, limit)
  }

  /** Every (env, key) that has history. */
  async keys(): Promise<Array<{env: string; key: string}>> {
    const root = join(this.dataDir, 'history')
    const envs = await readdir(root).catch(() => [] as string[])
    const out: Array<{env: string; key: string}> = []
    for (const env of envs) {
      for (const encoded of await readdir(join(root, env)).catch(() => [] as string[])) {
        out.push({env, key: decodeURIComponent(encoded)})
      }
    }

    return out
  }

  private async chunks(env: string, key: string): Promise<number[]> {
    const dir = join(this.dataDir, 'history', env, encodeKey(key))
    const names = await readdir(dir).catch(() => [] as string[])
    return names
      .filter((n) => /^\d{6}\.json$/.test(n))
      .map((n) => Number(n.slice(0, 6)))
      .sort((a, b) => a - b)
  }

  private chunkPath(env: string, key: string, chunk: number): string {
    return join(this.dataDir, 'history', env, encodeKey(key), `${String(chunk).padStart(6, '0')}.json`)
  }

  private blobPath(hash: string): string {
    return join(this.dataDir, 'blobs', hash.slice(0, 2), hash)
  }
}
