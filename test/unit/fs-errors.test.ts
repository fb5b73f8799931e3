import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {badInput} from '../../src/lib/errors.js'
import {fileError} from '../../src/lib/fs-errors.js'

const errno = (code: string) => Object.assign(new Error(`${code}: boom`), {code})

describe('local file-system errors', () => {
  it('become one bad-input line naming the path and the cause', () => {
    for (const [code, cause] of [['EROFS', 'read-only file system'], ['ENOSPC', 'no space left on the device'], ['EACCES', 'permission denied'], ['ENOTDIR', 'a part of the path is not a directory']]) {
      const error = fileError(errno(code), 'write', '/etc/game/conf.ini', 'a hint')
      assert.ok(error instanceof Error && 'exitCode' in error)
      assert.equal((error as {exitCode: number}).exitCode, 2)
      assert.equal(error.message, `cannot write /etc/game/conf.ini: ${cause} (${code})`)
      assert.equal((error as {hint?: string}).hint, 'a hint')
    }
  })

  it('leaves anything else alone: bugs stay bugs, stconf errors stay as they are', () => {
    const bug = new TypeError('x is undefined')
    assert.equal(fileError(bug, 'read', '/x'), bug)
    const unknownCode = errno('ESOMETHINGNEW')
    assert.equal(fileError(unknownCode, 'read', '/x'), unknownCode)
    const ours = badInput('already clear')
    assert.equal(fileError(ours, 'read', '/x'), ours)
  })
})
