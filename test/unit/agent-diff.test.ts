import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {colorDiff, describeChange, formatChangeShort, formatChangeStat, MAX_DIFF_BYTES, MAX_DIFF_EDITS} from '../../src/lib/agent/file-diff.js'
import {createLogger} from '../../src/lib/agent/log.js'

const names = {before: '/etc/game/conf.ini (before)', after: '/etc/game/conf.ini (game/conf.ini v7)'}

describe('diff stats of an applied change', () => {
  it('counts added and removed lines; the diff only when asked for', async () => {
    const before = Buffer.from('[game]\nplayers=50\nmap=forest\n')
    const after = Buffer.from('[game]\nplayers=100\nmap=forest\npvp=on\n')
    const quiet = await describeChange(before, after)
    assert.deepEqual(quiet, {kind: 'text', added: 2, removed: 1, bytesBefore: before.length, bytesAfter: after.length})
    assert.equal(formatChangeStat(quiet), '+2 -1 lines')
    assert.equal(formatChangeShort(quiet), '+2 -1')

    const loud = await describeChange(before, after, names)
    assert.equal(loud.added, 2)
    assert.equal(
      loud.diff,
      [
        '--- /etc/game/conf.ini (before)',
        '+++ /etc/game/conf.ini (game/conf.ini v7)',
        '@@ -1,3 +1,4 @@',
        ' [game]',
        '-players=50',
        '+players=100',
        ' map=forest',
        '+pvp=on',
        '',
      ].join('\n'),
    )
  })

  it('a new file, CRLF and a BOM are text; a missing final newline is not a line', async () => {
    const created = await describeChange(undefined, Buffer.from('a=1\nb=2\n'))
    assert.equal(formatChangeStat(created), '+2 -0 lines (new file)')
    const crlf = await describeChange(Buffer.from('\uFEFFa=1\r\nb=2\r\n'), Buffer.from('\uFEFFa=1\r\nb=3\r\n'), names)
    assert.equal(formatChangeStat(crlf), '+1 -1 lines')
    const noEol = await describeChange(Buffer.from('a=1'), Buffer.from('a=2'), names)
    assert.equal(formatChangeStat(noEol), '+1 -1 lines')
    assert.match(noEol.diff ?? '', /\\ No newline at end of file/)
  })

  it('binary or non-UTF-8 content gives the sizes, never a diff', async () => {
    const withNul = Buffer.alloc(4096, 0x41)
    withNul[100] = 0
    const latin1 = Buffer.alloc(4120, 0x41)
    latin1[7] = 0xe9 // "é" in ISO-8859-1: not UTF-8
    const change = await describeChange(withNul, latin1, names)
    assert.deepEqual(change, {kind: 'binary', added: null, removed: null, bytesBefore: 4096, bytesAfter: 4120})
    assert.equal(formatChangeStat(change), 'binary, 4,096 -> 4,120 bytes')
    assert.equal(formatChangeShort(change), 'binary')
    assert.equal(formatChangeStat(await describeChange(undefined, latin1)), 'binary, new file, 4,120 bytes')
  })

  it('text over 1 MiB, or with more changes than a bounded diff handles, gives the sizes', async () => {
    const big = Buffer.alloc(MAX_DIFF_BYTES + 1, 'a\n')
    const change = await describeChange(Buffer.from('a\n'), big, names)
    assert.equal(change.kind, 'large')
    assert.equal(change.diff, undefined)
    assert.equal(formatChangeStat(change), `over 1 MiB, 2 -> ${(MAX_DIFF_BYTES + 1).toLocaleString('en-US')} bytes`)

    // 300 lines, every one changed: 600 edits, past MAX_DIFF_EDITS
    const lines = (tag: string) => Buffer.from(Array.from({length: 300}, (_, i) => `${tag} ${i}\n`).join(''))
    const rewrite = await describeChange(lines('old'), lines('new'), names)
    assert.equal(rewrite.kind, 'large')
    assert.match(formatChangeStat(rewrite), /^too many changes to diff, 2,290 -> 2,290 bytes$/)
    assert.equal(formatChangeShort(rewrite), 'large')
    assert.ok(600 > MAX_DIFF_EDITS, 'the premise: 600 edits is past the cap')
    const within = await describeChange(lines('old'), Buffer.from(lines('old').toString().replace('old 7\n', 'new 7\n')), names)
    assert.equal(formatChangeStat(within), '+1 -1 lines', 'one changed line in the same 300-line file is diffed')
    assert.equal(formatChangeShort(null), '-')
  })

  it('colours a diff for a terminal', () => {
    const coloured = colorDiff('--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same')
    assert.equal(coloured, '\u001B[1m--- a\u001B[0m\n\u001B[1m+++ b\u001B[0m\n\u001B[36m@@ -1 +1 @@\u001B[0m\n\u001B[31m-old\u001B[0m\n\u001B[32m+new\u001B[0m\n same')
  })
})

describe('agent log lines', () => {
  const capture = (isTTY = false) => {
    const stream = {text: '', isTTY, write: (chunk: string) => (stream.text += chunk)}
    return stream
  }

  const now = () => new Date('2024-05-01T03:12:00.000Z')
  const fields = {key: 'game/conf.ini', version: 7, added: 2, removed: 1, diff: '--- a\n+++ b\n-x\n+y\n'}
  const text = {line: 'game/conf.ini v7 -> /etc/game/conf.ini: +2 -1 lines, reload ok in 312 ms', diff: fields.diff}

  it('text: the sentence, then the diff; no key=value tail; colour only on a terminal', () => {
    const out = capture()
    createLogger('text', out, capture(), {now}).info('applied', fields, text)
    assert.equal(out.text, '2024-05-01T03:12:00.000Z info  game/conf.ini v7 -> /etc/game/conf.ini: +2 -1 lines, reload ok in 312 ms\n--- a\n+++ b\n-x\n+y\n')

    const tty = capture(true)
    createLogger('text', tty, capture(), {now}).info('applied', fields, text)
    assert.ok(tty.text.includes('\u001B[31m-x\u001B[0m'), 'removals in red')
    const noColor = capture(true)
    createLogger('text', noColor, capture(), {now, color: false}).info('applied', fields, text)
    assert.ok(!noColor.text.includes('\u001B['), 'no escape codes with color: false')
  })

  it('json: the fields, diff included; events without a text keep key=value in text', () => {
    const out = capture()
    createLogger('json', out, capture(), {now}).info('applied', fields, text)
    assert.deepEqual(JSON.parse(out.text), {time: '2024-05-01T03:12:00.000Z', level: 'info', msg: 'applied', ...fields})

    const plain = capture()
    createLogger('text', plain, capture(), {now}).info('agent started', {env: 'prod', files: 2})
    assert.equal(plain.text, '2024-05-01T03:12:00.000Z info  agent started env=prod files=2\n')
  })
})

describe('diffing only the changed part of a long file', () => {
  const file = (lines: number, edit: (rows: string[]) => void = () => undefined, eol = '\n') => {
    const rows = Array.from({length: lines}, (_, i) => `line ${i}`)
    edit(rows)
    return Buffer.from(rows.join('\n') + eol)
  }

  const cases: Array<[string, Buffer, Buffer]> = [
    ['one line in the middle', file(2000), file(2000, (rows) => (rows[1000] = 'changed'))],
    ['the first line', file(2000), file(2000, (rows) => (rows[0] = 'changed'))],
    ['the second line', file(2000), file(2000, (rows) => (rows[1] = 'changed'))],
    ['the last line, no final newline', file(2000, undefined, ''), file(2000, (rows) => (rows[1999] = 'changed'), '')],
    ['a final newline added', file(50, undefined, ''), file(50)],
    ['lines inserted', file(2000), file(2000, (rows) => rows.splice(700, 0, 'new a', 'new b'))],
    ['lines removed', file(2000), file(2000, (rows) => rows.splice(700, 3))],
    ['two distant changes', file(2000), file(2000, (rows) => ((rows[10] = 'x'), (rows[1900] = 'y')))],
    ['a change inside a line', Buffer.from('a\nkey=value\nb\n'), Buffer.from('a\nkey=valve\nb\n')],
    ['text appended', Buffer.from('a\nb\n'), Buffer.from('a\nb\nc\n')],
    ['a repeated line', Buffer.from('x\nx\nx\nx\nx\n'), Buffer.from('x\nx\nx\nx\nx\nx\n')],
  ]

  for (const [what, before, after] of cases) {
    it(`gives the whole file's diff: ${what}`, async () => {
      const {createTwoFilesPatch} = await import('diff')
      const whole = createTwoFilesPatch('old', 'new', before.toString(), after.toString(), undefined, undefined, {context: 3}).replace(/^=+\n/m, '')
      const change = await describeChange(before, after, {before: 'old', after: 'new'})
      assert.equal(change.diff, whole.replace(/^Index: .*\n/, ''))
    })
  }
})
