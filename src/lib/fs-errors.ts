// A local file-system failure is the operator's to fix (a wrong path, a read-only or full disk), not a
// bug: it becomes one 'bad-input' line naming the path and the cause. Anything else passes through.
import {resolve} from 'node:path'
import {badInput, isStconfError} from './errors.js'

const CAUSES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EIO: 'input/output error',
  EBUSY: 'the file is busy (a mount point?)',
  EEXIST: 'it exists already',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EXDEV: 'it is on another file system',
  EINVAL: 'the file system does not allow this',
}

/** The StconfError for a failed file operation on `path`, or `error` itself when it is not one. */
export function fileError(error: unknown, verb: 'read' | 'write' | 'create' | 'lock', path: string, hint?: string): unknown {
  if (isStconfError(error)) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (!code || !(code in CAUSES)) return error
  return badInput(`cannot ${verb} ${resolve(path)}: ${CAUSES[code]} (${code})`, hint)
}
