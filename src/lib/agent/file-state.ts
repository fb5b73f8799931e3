// What the agent knows about one file, changed only through the named transitions below: this class is
// the one writer of a file's status, so "when is a file reported ok?" has one answer — after
// `applied()` (the bytes are in place and their reload, if any, went well) or `restored()` (the cache
// and the disk agree at start-up). Everything a report shows comes from here.
import {statSync} from 'node:fs'
import type {VersionMeta} from '../model.js'
import type {FileReport, FileStatus, LastChange} from './types.js'

export interface Version {
  version: number
  sha256: string
}

export interface Applied extends Version {
  appliedAt: string
}

/** What the destination looked like right after the agent wrote it: a cheap "untouched since" test. */
export interface DiskStamp {
  size: number
  mtimeMs: number
  ino: number
}

export async function stampOf(path: string): Promise<DiskStamp | undefined> {
  try {
    const s = statSync(path) // synchronous, as cache.ts's reads
    return {size: s.size, mtimeMs: s.mtimeMs, ino: s.ino}
  } catch {
    return undefined
  }
}

const same = (a: Version | undefined, b: Version): boolean => a !== undefined && a.version === b.version && a.sha256 === b.sha256

export class FileState {
  private _status: FileStatus = 'pending'
  private _error: string | null = null
  private _applied?: Applied
  /** the version whose check or reload failed: not tried again until a newer one comes */
  private _failed?: Version
  private _stamp?: DiskStamp
  private _lastChange?: LastChange
  /** what the error says when it is about the read, not the file: cleared once a read goes through */
  private _readError?: 'missing' | 'refused'

  get status(): FileStatus {
    return this._status
  }

  get error(): string | null {
    return this._error
  }

  /** the version in place */
  get lastApplied(): Applied | undefined {
    return this._applied
  }

  /** the version not to try again */
  get lastFailed(): Version | undefined {
    return this._failed
  }

  get stamp(): DiskStamp | undefined {
    return this._stamp
  }

  isFailed(version: Version): boolean {
    return same(this._failed, version)
  }

  isApplied(version: Version): boolean {
    return same(this._applied, version)
  }

  // ---- transitions ----

  /** A SIGHUP reload: the previous agent's failed version stays failed (and, for the same key, reported so). */
  inherited(failed: Version, report?: {status: FileStatus; error: string | null}): void {
    this._failed = {version: failed.version, sha256: failed.sha256}
    if (report && (report.status === 'check-failed' || report.status === 'reload-failed')) {
      this._status = report.status
      this.setError(report.error)
    }
  }

  /** Start-up: the cache says `applied`, and the destination holds exactly those bytes. */
  restored(applied: Applied, stamp: DiskStamp | undefined): void {
    this._applied = applied
    this._status = 'ok'
    this._stamp = stamp
  }

  /** In place, waiting for its reload (the batch's reload settles it). */
  pending(stamp: DiskStamp | undefined): void {
    this._status = 'pending'
    this._stamp = stamp
  }

  /** In place and (if it has a reload) reloaded: the only way a file becomes ok after start-up. */
  applied(version: Version, appliedAt: string, stamp: DiskStamp | undefined): void {
    // All at once: a report taken at any moment never mixes the old version with the new one.
    this._applied = {version: version.version, sha256: version.sha256, appliedAt}
    this._status = 'ok'
    this.setError(null)
    this._failed = undefined
    this._stamp = stamp
  }

  /** `check` refused the candidate, or the reload failed and the old file is back. */
  failed(step: 'check' | 'reload', version: Version, error: string, stamp?: DiskStamp): void {
    this._failed = {version: version.version, sha256: version.sha256}
    this._status = step === 'check' ? 'check-failed' : 'reload-failed'
    this.setError(error)
    if (step === 'reload') this._stamp = stamp
  }

  /** Something else went wrong (an unreadable destination, a bad read): reported, retried by the poll. */
  errored(message: string): void {
    this._status = 'error'
    this.setError(message)
  }

  /** The key is not in the center: the file stays as it is. Returns whether the report changed. */
  missing(message: string): boolean {
    if (this._error === message) return false
    if (!this._applied) this._status = 'pending'
    this.setError(message, 'missing')
    return true
  }

  /** The center refused the read (NoAuth, 401/403): the status stays, the error says why nothing moves. */
  refused(message: string): boolean {
    this._readError = 'refused'
    if (this._error === message) return false
    this._error = message
    return true
  }

  /** A read went through (`refused`), or found the key (`missing`): that error no longer holds. Returns whether the report changed. */
  readAgain(kind: 'missing' | 'refused'): boolean {
    if (this._readError !== kind) return false
    this.setError(null)
    return true
  }

  /** The diff stat of the last change applied. */
  described(change: LastChange): void {
    this._lastChange = change
  }

  private setError(message: string | null, readError?: 'missing' | 'refused'): void {
    this._error = message
    this._readError = readError
  }

  report(file: {key: string; dest: string}): FileReport {
    return {
      key: file.key,
      dest: file.dest,
      version: this._applied?.version ?? null,
      sha256: this._applied?.sha256 ?? null,
      status: this._status,
      appliedAt: this._applied?.appliedAt ?? null,
      error: this._error,
      lastChange: this._lastChange ?? null,
      failedVersion: this._failed?.version ?? null,
    }
  }

  /** Whether `meta` needs the pipeline at all (cheap: no content read unless the disk changed). */
  async needs(meta: VersionMeta, dest: string): Promise<boolean> {
    if (this.isFailed(meta)) return false
    if (!this.isApplied(meta)) return true
    // Same version as applied: only if someone changed the file on disk behind our back.
    const now = await stampOf(dest)
    const was = this._stamp
    return !now || !was || now.size !== was.size || now.mtimeMs !== was.mtimeMs || now.ino !== was.ino
  }
}
