// A file's state changes only through FileState's named transitions; each case is one claim about
// what a report says after one of them. Pure: no files, except the stat in needs() (a missing path).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {FileState} from '../../src/lib/agent/file-state.js'
import type {VersionMeta} from '../../src/lib/model.js'

const v1 = {version: 1, sha256: 'a'.repeat(64)}
const v2 = {version: 2, sha256: 'b'.repeat(64)}
const file = {key: 'game/conf.ini', dest: '/nonexistent/stconf-file-state/conf.ini'}
const meta = (v: {version: number; sha256: string}): VersionMeta => ({...v, size: 1, author: 'test', message: '', time: '2026-01-01T00:00:00.000Z', kind: 'push'})

describe('FileState', () => {
  it('starts pending with no version, and applied() makes it ok with that version', () => {
    const state = new FileState()
    assert.equal(state.report(file).status, 'pending')
    assert.equal(state.report(file).version, null)
    state.applied(v1, '2026-01-01T00:00:00.000Z', undefined)
    assert.deepEqual(
      {status: state.status, version: state.report(file).version, appliedAt: state.report(file).appliedAt},
      {status: 'ok', version: 1, appliedAt: '2026-01-01T00:00:00.000Z'},
    )
  })

  it('a failed check keeps the applied version, says check-failed and remembers the failed version', () => {
    const state = new FileState()
    state.applied(v1, 'then', undefined)
    state.failed('check', v2, 'version 2: check failed: no')
    const report = state.report(file)
    assert.deepEqual([report.status, report.version, report.failedVersion, report.error], ['check-failed', 1, 2, 'version 2: check failed: no'])
  })

  it('a failed version is not needed again, a newer one is', async () => {
    const state = new FileState()
    state.failed('reload', v1, 'version 1: reload failed')
    assert.equal(await state.needs(meta(v1), file.dest), false)
    assert.equal(await state.needs(meta(v2), file.dest), true)
  })

  it('applying a newer version clears the failure and its error', () => {
    const state = new FileState()
    state.failed('reload', v1, 'version 1: reload failed')
    state.applied(v2, 'now', undefined)
    assert.deepEqual([state.status, state.error, state.lastFailed], ['ok', null, undefined])
  })

  it('pending() after ok says a reload is pending, and keeps the version in place', () => {
    const state = new FileState()
    state.applied(v1, 'then', undefined)
    state.pending(undefined)
    assert.deepEqual([state.report(file).status, state.report(file).version], ['pending', 1])
  })

  it('a missing key leaves an applied file ok, and an unapplied one pending; the report changes once', () => {
    const applied = new FileState()
    applied.applied(v1, 'then', undefined)
    assert.equal(applied.missing('key gone'), true)
    assert.equal(applied.missing('key gone'), false, 'the same message again changes nothing')
    assert.deepEqual([applied.status, applied.error], ['ok', 'key gone'])
    const fresh = new FileState()
    fresh.errored('boom')
    fresh.missing('key gone')
    assert.equal(fresh.status, 'pending')
  })

  it('readAgain clears only the read error it names, never a check failure', () => {
    const state = new FileState()
    state.missing('key gone')
    assert.equal(state.readAgain('refused'), false)
    assert.equal(state.readAgain('missing'), true)
    assert.equal(state.error, null)
    state.failed('check', v1, 'check failed')
    assert.equal(state.readAgain('missing'), false)
    assert.equal(state.readAgain('refused'), false)
    assert.equal(state.error, 'check failed')
  })

  it('a refused read keeps the status and clears once a read goes through', () => {
    const state = new FileState()
    state.applied(v1, 'then', undefined)
    state.refused('NoAuth')
    assert.deepEqual([state.status, state.error], ['ok', 'NoAuth'])
    assert.equal(state.readAgain('refused'), true)
    assert.equal(state.error, null)
  })

  it('inherited() remembers the failed version, and takes the report only when it says failed', () => {
    const failedReport = new FileState()
    failedReport.inherited(v1, {status: 'reload-failed', error: 'reload failed'})
    assert.deepEqual([failedReport.status, failedReport.error, failedReport.isFailed(v1)], ['reload-failed', 'reload failed', true])
    const errorReport = new FileState()
    errorReport.inherited(v1, {status: 'error', error: 'other'})
    assert.deepEqual([errorReport.status, errorReport.error, errorReport.isFailed(v1)], ['pending', null, true])
  })
})
