import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {InstanceView} from '../../src/lib/fleet.js'
import {contentLines, diffLines, fit, fitLeft, fleetIndex, formatAge, formatBadge, nextAgeChange, windowStart} from '../../src/tui/format.js'

const instance = (host: string, online: boolean, status: InstanceView['files'][number]['status'], inSync: boolean): InstanceView => ({
  host,
  instance: host,
  state: 'ok',
  since: '',
  pid: 1,
  agentVersion: '0',
  startedAt: '',
  updatedAt: '',
  online,
  lastSeen: '',
  via: 'http',
  files: [{key: 'game/conf.ini', dest: '/x', version: 1, sha256: 's', status, appliedAt: null, error: null, inSync, centerVersion: 1}],
})

describe('tui formatting', () => {
  it('ages', () => {
    const now = Date.parse('2026-12-01T12:00:00Z')
    assert.equal(formatAge('2026-12-01T11:59:55Z', now), '5s')
    assert.equal(formatAge('2026-12-01T11:58:00Z', now), '2m')
    assert.equal(formatAge('2026-12-01T09:00:00Z', now), '3h')
    assert.equal(formatAge('2026-11-27T12:00:00Z', now), '4d')
    assert.equal(formatAge(null, now), '-')
  })

  it('the next age change: the first moment one of the ages reads differently (the clock redraws only then)', () => {
    const now = Date.parse('2026-12-01T12:00:00.250Z')
    const cases: Array<[string, number]> = [
      ['2026-12-01T11:59:55Z', 750], // 5s -> 6s
      ['2026-12-01T11:58:00Z', 59_750], // 2m -> 3m
      ['2026-12-01T09:00:30Z', 29_750], // 2h (2h59m30s) -> 3h
      ['2026-11-27T12:00:00Z', 86_399_750], // 4d -> 5d
      ['2026-12-01T12:00:01Z', 1750], // ahead of our clock: 0s until a second after it
    ]
    for (const [iso, wait] of cases) {
      assert.equal(nextAgeChange([iso], now), wait, iso)
      assert.equal(formatAge(iso, now + wait - 1), formatAge(iso, now), `${iso} reads the same just before`)
      assert.notEqual(formatAge(iso, now + wait), formatAge(iso, now), `${iso} changes then`)
    }

    assert.equal(nextAgeChange(cases.map(([iso]) => iso), now), 750, 'the soonest of them')
    assert.equal(nextAgeChange([null, 'not a time'], now), Infinity, 'nothing to redraw for')
  })

  it('cells are exactly as wide as asked, and never carry control characters', () => {
    assert.equal(fit('abc', 5), 'abc  ')
    assert.equal(fit('abcdefgh', 5), 'abcd…')
    assert.equal(fit('a\tb\u001b[31m', 9), 'a  b�[31m')
    assert.equal(fitLeft('game/conf.d/very/long/name.ini', 12), '…ng/name.ini')
    assert.equal(fitLeft('short.ini', 12), 'short.ini   ')
  })

  it('the fleet badge counts applied instances and trouble, toned by the worst state', () => {
    const index = fleetIndex([instance('a', true, 'ok', true), instance('b', true, 'reload-failed', false), instance('c', false, 'ok', true), instance('d', true, 'pending', false)])
    assert.deepEqual(index.get('game/conf.ini'), {total: 4, applied: 1, failed: 1, offline: 1, pending: 1})
    assert.deepEqual(formatBadge(index.get('game/conf.ini')), {text: '1/4 ▲3', tone: 'failed'})
    assert.deepEqual(formatBadge({total: 2, applied: 1, failed: 0, pending: 0, offline: 1}), {text: '1/2 ▲1', tone: 'offline'})
    assert.deepEqual(formatBadge({total: 48, applied: 48, failed: 0, pending: 0, offline: 0}), {text: '48/48', tone: 'ok'})
    assert.deepEqual(formatBadge(undefined), {text: '-', tone: 'dim'})
  })

  it('content: text as lines (CRLF, BOM, no final newline); anything not UTF-8 as a hex summary', () => {
    assert.deepEqual(contentLines(Buffer.from('\uFEFFa = 1\r\nb = 2')).map((l) => l.text), ['a = 1', 'b = 2'])
    const binary = contentLines(Buffer.from([0xff, 0xfe, 0x00, 0x41]))
    assert.match(binary[0].text, /^binary content, 4 bytes/)
    assert.equal(binary[1].text, '00000000  ff fe 00 41                                      |...A|')
  })

  it('diff lines carry their tone', () => {
    const lines = diffLines('===================================================================\n--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same\n')
    assert.deepEqual(lines.map((l) => l.tone ?? 'plain'), ['meta', 'meta', 'hunk', 'del', 'add', 'plain'])
  })

  it('the visible window keeps the cursor on screen', () => {
    assert.equal(windowStart(0, 5000, 10), 0)
    assert.equal(windowStart(2500, 5000, 10), 2495)
    assert.equal(windowStart(4999, 5000, 10), 4990)
    assert.equal(windowStart(3, 4, 10), 0)
  })
})

describe('tui hint bar', () => {
  it('keeps "? keys" and "q quit" when the bar is too narrow for all hints', async () => {
    const {fitHints} = await import('../../src/tui/format.js')
    const hints = ['tab pane', '↑↓ move', 'enter view', 'd diff', 'r roll back', 'e env', '/ filter', '? keys', 'q quit']
    assert.equal(fitHints(hints, 200), ` ${hints.join(' · ')}`)
    const narrow = fitHints(hints, 60)
    assert.ok([...narrow].length <= 60)
    assert.match(narrow, /^ tab pane · .* · \? keys · q quit$/)
  })
})
