// serve's journal against real processes: a data dir of the old lowdb layout is migrated on first
// start; a segment cut mid-line by a crash still reads, and new appends after it are intact; the
// audit filters of GET /api/v1/audit, through the CLI.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ADMIN_TOKEN, runCli, startServe, tempDir, type ServeHandle} from '../helpers/cli.js'
import type {AuditEntry} from '../../src/lib/server/storage-types.js'

const cleanup: string[] = []
after(() => {
  for (const dir of cleanup) rmSync(dir, {recursive: true, force: true})
})

function scratch(prefix: string): string {
  const dir = tempDir(prefix)
  cleanup.push(dir)
  return dir
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

async function cliAt(serve: ServeHandle, args: string[], options: {token?: string; cwd?: string} = {}) {
  return runCli(args, {cwd: options.cwd, env: {STCONF_SERVER: serve.url, STCONF_TOKEN: options.token ?? ADMIN_TOKEN}})
}

async function jsonOf<T>(serve: ServeHandle, args: string[]): Promise<T> {
  const result = await cliAt(serve, [...args, '--json'])
  assert.equal(result.code, 0, result.stderr)
  return JSON.parse(result.stdout) as T
}


/** Writes a data dir exactly as stconf wrote it before the journal (lowdb files, embedded store). */
function writeOldLayout(dataDir: string): {v1: Buffer; v2: Buffer} {
  const v1 = Buffer.from('[server]\nport=1\n')
  const v2 = Buffer.from('[server]\nport=2\n')
  const key = encodeURIComponent('game/conf.ini')
  const metas = [v1, v2].map((bytes, i) => ({
    version: i + 1,
    sha256: sha(bytes),
    size: bytes.length,
    author: 'admin',
    message: `old ${i + 1}`,
    time: `2026-11-2${i}T10:00:00.000Z`,
    kind: 'push',
  }))
  for (const bytes of [v1, v2]) {
    mkdirSync(join(dataDir, 'blobs', sha(bytes).slice(0, 2)), {recursive: true})
    writeFileSync(join(dataDir, 'blobs', sha(bytes).slice(0, 2), sha(bytes)), bytes)
  }

  mkdirSync(join(dataDir, 'history', 'prod', key), {recursive: true})
  writeFileSync(join(dataDir, 'history', 'prod', key, '000000.json'), JSON.stringify(metas, null, 1) + '\n')
  mkdirSync(join(dataDir, 'current', 'prod'), {recursive: true})
  writeFileSync(join(dataDir, 'current', 'prod', `${key}.json`), JSON.stringify(metas[1]) + '\n')
  mkdirSync(join(dataDir, 'audit'), {recursive: true})
  writeFileSync(
    join(dataDir, 'audit', '2026-11-20.json'),
    JSON.stringify([{time: metas[0].time, actor: 'admin', action: 'push', env: 'prod', key: 'game/conf.ini', version: 1, detail: 'old 1'}], null, 1),
  )
  writeFileSync(
    join(dataDir, 'audit', '2026-11-21.json'),
    JSON.stringify(
      [
        {time: '2026-11-21T09:00:00.000Z', actor: 'admin', action: 'token-create', detail: 'ci (operator)'},
        {time: metas[1].time, actor: 'admin', action: 'push', env: 'prod', key: 'game/conf.ini', version: 2, detail: 'old 2'},
      ],
      null,
      1,
    ),
  )
  return {v1, v2}
}

describe('journal: migration from the old layout', () => {
  it('moves history and audit on first start; versions, bytes and entries survive; the next start leaves it alone', async () => {
    const dataDir = scratch('stconf-migrate-')
    const {v1} = writeOldLayout(dataDir)
    let serve = await startServe({dataDir})
    try {
      assert.match(serve.output(), /migrated .* 3 audit entries, 2 versions of 1 keys/)
      const history = await jsonOf<Array<{version: number; message: string}>>(serve, ['history', 'game/conf.ini', '--env', 'prod'])
      assert.deepEqual(history.map((v) => [v.version, v.message]), [[2, 'old 2'], [1, 'old 1']])
      const old = await cliAt(serve, ['pull', 'game/conf.ini', '--env', 'prod', '--version', '1', '-o', '-'])
      assert.deepEqual(old.stdoutBytes, v1)
      const audit = await jsonOf<AuditEntry[]>(serve, ['audit'])
      assert.deepEqual(audit.map((e) => [e.time, e.action, e.version]), [
        ['2026-11-20T10:00:00.000Z', 'push', 1],
        ['2026-11-21T09:00:00.000Z', 'token-create', undefined],
        ['2026-11-21T10:00:00.000Z', 'push', 2],
      ])
      assert.equal(existsSync(join(dataDir, 'history')), false, 'old history files removed')
      assert.equal(existsSync(join(dataDir, 'audit')), false, 'old audit files removed')
      assert.equal(existsSync(join(dataDir, 'current')), false, 'the embedded store reads history now: no pointer files')

      // Rolling back to a migrated version and pushing anew continue the numbering.
      const rolled = await jsonOf<{version: number}>(serve, ['rollback', 'game/conf.ini', '--env', 'prod', '--to', '1'])
      assert.equal(rolled.version, 3)
    } finally {
      await serve.stop()
    }

    serve = await startServe({dataDir})
    try {
      assert.doesNotMatch(serve.output(), /migrated/)
      const history = await jsonOf<Array<{version: number}>>(serve, ['history', 'game/conf.ini', '--env', 'prod'])
      assert.deepEqual(history.map((v) => v.version), [3, 2, 1])
      assert.equal((await jsonOf<AuditEntry[]>(serve, ['audit'])).length, 4)
    } finally {
      await serve.stop()
    }
  })

  it('refuses a data dir that holds the old layout beside a journal it did not migrate, and changes nothing', async () => {
    const dataDir = scratch('stconf-migrate-')
    writeOldLayout(dataDir)
    mkdirSync(join(dataDir, 'journal', 'audit'), {recursive: true})
    const result = await runCli(['serve', '--port', '0', '--data', dataDir], {env: {STCONF_ADMIN_TOKEN: ADMIN_TOKEN}})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /^stconf: .*holds both the old storage layout.* - .*move audit\/ and history\//)
    assert.equal(result.stderr.trim().split('\n').length, 1)
    assert.ok(existsSync(join(dataDir, 'history', 'prod')))
    assert.deepEqual(readdirSync(join(dataDir, 'journal', 'audit')), [])
  })
})

/**
 * A data dir as the first journal layout's embedded store left it: history lines without content
 * (content in blobs/), and a pointer file per key in current/ — here one pointer ahead of history
 * (that serve crashed between writing the pointer and the history line).
 */
function writePointerLayout(dataDir: string): {v2: Buffer; rates: Buffer} {
  const versions = [Buffer.from('[server]\nport=1\n'), Buffer.from('[server]\nport=2\n')]
  const rates = Buffer.from('gold=2\n')
  const meta = (bytes: Buffer, version: number) => ({version, sha256: sha(bytes), size: bytes.length, author: 'admin', message: `v${version}`, time: `2026-11-2${version}T10:00:00.000Z`, kind: 'push'})
  for (const bytes of [...versions, rates]) {
    mkdirSync(join(dataDir, 'blobs', sha(bytes).slice(0, 2)), {recursive: true})
    writeFileSync(join(dataDir, 'blobs', sha(bytes).slice(0, 2), sha(bytes)), bytes)
  }

  const keyDir = (key: string) => join(dataDir, 'journal', 'history', 'prod', encodeURIComponent(key))
  mkdirSync(keyDir('game/conf.ini'), {recursive: true})
  writeFileSync(join(keyDir('game/conf.ini'), '0000000001.jsonl'), JSON.stringify(meta(versions[0], 1)) + '\n')
  mkdirSync(keyDir('game/rates.ini'), {recursive: true})
  writeFileSync(join(keyDir('game/rates.ini'), '0000000001.jsonl'), JSON.stringify(meta(rates, 1)) + '\n')
  mkdirSync(join(dataDir, 'journal', 'audit'), {recursive: true})
  writeFileSync(join(dataDir, 'journal', 'audit', '0000000001.jsonl'), JSON.stringify({time: '2026-11-21T10:00:00.000Z', actor: 'admin', action: 'push', env: 'prod', key: 'game/conf.ini', version: 1}) + '\n')
  mkdirSync(join(dataDir, 'current', 'prod'), {recursive: true})
  writeFileSync(join(dataDir, 'current', 'prod', `${encodeURIComponent('game/conf.ini')}.json`), JSON.stringify(meta(versions[1], 2)) + '\n')
  writeFileSync(join(dataDir, 'current', 'prod', `${encodeURIComponent('game/rates.ini')}.json`), JSON.stringify(meta(rates, 1)) + '\n')
  return {v2: versions[1], rates}
}

describe('journal: migration of the embedded store\'s pointer files', () => {
  it('folds current/ into history (a pointer ahead of it recorded as reconcile), removes current/, and reads content from the old blobs', async () => {
    const dataDir = scratch('stconf-migrate-pointers-')
    const {v2, rates} = writePointerLayout(dataDir)
    const serve = await startServe({dataDir})
    try {
      assert.equal(existsSync(join(dataDir, 'current')), false, 'pointer files removed')
      const history = await jsonOf<Array<{version: number}>>(serve, ['history', 'game/conf.ini', '--env', 'prod'])
      assert.deepEqual(history.map((v) => v.version), [2, 1])
      assert.deepEqual((await cliAt(serve, ['pull', 'game/conf.ini', '--env', 'prod', '-o', '-'])).stdoutBytes, v2)
      assert.deepEqual((await cliAt(serve, ['pull', 'game/rates.ini', '--env', 'prod', '-o', '-'])).stdoutBytes, rates)
      const keys = await jsonOf<Array<{key: string; version: number}>>(serve, ['ls', '--env', 'prod'])
      assert.deepEqual(keys.map((k) => [k.key, k.version]), [
        ['game/conf.ini', 2],
        ['game/rates.ini', 1],
      ])
      const audit = await jsonOf<AuditEntry[]>(serve, ['audit'])
      assert.deepEqual(audit.map((e) => [e.actor, e.action, e.key, e.version]), [
        ['admin', 'push', 'game/conf.ini', 1],
        ['stconf', 'reconcile', 'game/conf.ini', 2],
      ])

      // Pushing anew continues the numbering, and the new version reads back.
      const work = scratch('stconf-migrate-pointers-work-')
      writeFileSync(join(work, 'conf.ini'), '[server]\nport=3\n')
      const pushed = await jsonOf<{version: number}>(serve, ['push', 'game/conf.ini', '--env', 'prod', '--file', join(work, 'conf.ini')])
      assert.equal(pushed.version, 3)
      assert.equal((await cliAt(serve, ['pull', 'game/conf.ini', '--env', 'prod', '-o', '-'])).stdout, '[server]\nport=3\n')
    } finally {
      await serve.stop()
    }
  })
})

describe('journal: a segment torn by a crash', () => {
  async function pushThree(dataDir: string, work: string): Promise<void> {
    const serve = await startServe({dataDir})
    try {
      for (let i = 1; i <= 3; i++) {
        writeFileSync(join(work, 'conf.ini'), `[server]\nport=${i}\n`)
        const pushed = await cliAt(serve, ['push', 'game/conf.ini', '--env', 'prod', '--file', join(work, 'conf.ini'), '-m', `push ${i}`], {cwd: work})
        assert.equal(pushed.code, 0, pushed.stderr)
      }
    } finally {
      await serve.stop()
    }
  }

  const auditSegment = (dataDir: string) => join(dataDir, 'journal', 'audit', '0000000001.jsonl')
  const historySegment = (dataDir: string) => join(dataDir, 'journal', 'history', 'prod', encodeURIComponent('game/conf.ini'), '0000000001.jsonl')
  const tear = (path: string) => truncateSync(path, statSync(path).size - 15)

  it('reads what was whole, and appends after it intact', async () => {
    const dataDir = scratch('stconf-torn-')
    const work = scratch('stconf-torn-work-')
    await pushThree(dataDir, work)
    // A crash in the middle of writing the last line of each log: version 3 was never stored whole.
    for (const path of [auditSegment(dataDir), historySegment(dataDir)]) tear(path)

    const serve = await startServe({dataDir})
    try {
      const history = await jsonOf<Array<{version: number}>>(serve, ['history', 'game/conf.ini', '--env', 'prod'])
      assert.deepEqual(history.map((v) => v.version), [2, 1])
      const current = await cliAt(serve, ['pull', 'game/conf.ini', '--env', 'prod', '-o', '-'])
      assert.equal(current.stdout, '[server]\nport=2\n')
      const audit = await jsonOf<AuditEntry[]>(serve, ['audit'])
      assert.deepEqual(audit.map((e) => [e.action, e.version]), [
        ['push', 1],
        ['push', 2],
      ])

      writeFileSync(join(work, 'conf.ini'), '[server]\nport=4\n')
      const pushed = await cliAt(serve, ['push', 'game/conf.ini', '--env', 'prod', '--file', join(work, 'conf.ini'), '-m', 'after the crash'])
      assert.equal(pushed.code, 0, pushed.stderr)
      const after = await jsonOf<AuditEntry[]>(serve, ['audit', '--limit', '1'])
      assert.deepEqual(after.map((e) => [e.action, e.version]), [['push', 3]])
      const again = await cliAt(serve, ['pull', 'game/conf.ini', '--env', 'prod', '-o', '-'])
      assert.equal(again.stdout, '[server]\nport=4\n')
    } finally {
      await serve.stop()
    }

    for (const path of [auditSegment(dataDir), historySegment(dataDir)]) {
      const text = readFileSync(path, 'utf8')
      assert.ok(text.endsWith('\n'))
      for (const line of text.trimEnd().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `${path}: ${line}`)
    }
  })

  it('says in the audit when an entry names a version whose history line was torn (a push never acknowledged)', async () => {
    const dataDir = scratch('stconf-torn-')
    const work = scratch('stconf-torn-work-')
    await pushThree(dataDir, work)
    tear(historySegment(dataDir)) // the audit entry of version 3 made it to disk, its history line did not

    let serve = await startServe({dataDir})
    try {
      const history = await jsonOf<Array<{version: number}>>(serve, ['history', 'game/conf.ini', '--env', 'prod'])
      assert.deepEqual(history.map((v) => v.version), [2, 1])
      const audit = await jsonOf<AuditEntry[]>(serve, ['audit'])
      assert.deepEqual(audit.map((e) => [e.actor, e.action, e.version]), [
        ['admin', 'push', 1],
        ['admin', 'push', 2],
        ['admin', 'push', 3],
        ['stconf', 'push-failed', 3],
      ])
      assert.match(audit[3].detail ?? '', /never acknowledged/)
    } finally {
      await serve.stop()
    }

    serve = await startServe({dataDir})
    try {
      assert.equal((await jsonOf<AuditEntry[]>(serve, ['audit'])).length, 4, 'settled once, not at every start')
    } finally {
      await serve.stop()
    }
  })
})

describe('audit filters (GET /api/v1/audit through `stconf audit`)', () => {
  let serve: ServeHandle
  let ciToken: string
  let beforeSecond: string
  const work = scratch('stconf-audit-work-')

  before(async () => {
    serve = await startServe({dataDir: scratch('stconf-audit-')})
    const created = await cliAt(serve, ['token', 'create', 'ci', '--role', 'operator'])
    assert.equal(created.code, 0, created.stderr)
    ciToken = created.stdout.trim().split('\n').at(-1)!
    const push = async (env: string, key: string, body: string, token = ADMIN_TOKEN) => {
      mkdirSync(join(work, key, '..'), {recursive: true})
      writeFileSync(join(work, key), body)
      const result = await cliAt(serve, ['push', key, '--env', env], {token, cwd: work})
      assert.equal(result.code, 0, result.stderr)
    }

    await push('prod', 'game/conf.ini', 'a=1\n')
    await push('staging', 'game/conf.ini', 'a=1\n', ciToken)
    beforeSecond = new Date().toISOString()
    await push('prod', 'game/rates.ini', 'r=1\n', ciToken)
    await push('prod', 'game/conf.ini', 'a=2\n', ciToken)
    const rolled = await cliAt(serve, ['rollback', 'game/conf.ini', '--env', 'prod', '--to', '1'])
    assert.equal(rolled.code, 0, rolled.stderr)
  })
  after(() => serve.stop())

  const audit = (args: string[]) => jsonOf<AuditEntry[]>(serve, ['audit', ...args])
  const shape = (entries: AuditEntry[]) => entries.map((e) => `${e.actor} ${e.action} ${e.env ?? '-'}/${e.key ?? '-'} ${e.version ?? '-'}`)

  it('--env', async () => {
    assert.deepEqual(shape(await audit(['--env', 'staging'])), ['ci push staging/game/conf.ini 1'])
  })

  it('--key (across envs)', async () => {
    assert.deepEqual(shape(await audit(['--key', 'game/conf.ini'])), [
      'admin push prod/game/conf.ini 1',
      'ci push staging/game/conf.ini 1',
      'ci push prod/game/conf.ini 2',
      'admin rollback prod/game/conf.ini 3',
    ])
  })

  it('--actor', async () => {
    assert.deepEqual(shape(await audit(['--actor', 'ci'])), ['ci push staging/game/conf.ini 1', 'ci push prod/game/rates.ini 1', 'ci push prod/game/conf.ini 2'])
  })

  it('--action', async () => {
    assert.deepEqual(shape(await audit(['--action', 'token-create'])), ['admin token-create -/- -'])
    assert.deepEqual(shape(await audit(['--action', 'rollback'])), ['admin rollback prod/game/conf.ini 3'])
  })

  it('combined with each other and with --since and --limit', async () => {
    assert.deepEqual(shape(await audit(['--env', 'prod', '--key', 'game/conf.ini', '--actor', 'ci', '--action', 'push'])), ['ci push prod/game/conf.ini 2'])
    assert.deepEqual(shape(await audit(['--env', 'prod', '--since', beforeSecond])), [
      'ci push prod/game/rates.ini 1',
      'ci push prod/game/conf.ini 2',
      'admin rollback prod/game/conf.ini 3',
    ])
    assert.deepEqual(shape(await audit(['--env', 'prod', '--limit', '2'])), ['ci push prod/game/conf.ini 2', 'admin rollback prod/game/conf.ini 3'])
    assert.deepEqual(await audit(['--env', 'prod', '--actor', 'nobody']), [])
  })

  it('refuses a bad filter with one line and exit 2', async () => {
    for (const args of [['--key', '../etc/passwd'], ['--env', 'Prod'], ['--since', 'yesterday']]) {
      const result = await cliAt(serve, ['audit', ...args])
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.equal(result.stderr.trim().split('\n').length, 1)
    }

    const response = await fetch(`${serve.url}/api/v1/audit?user=admin`, {headers: {authorization: `Bearer ${ADMIN_TOKEN}`}})
    assert.equal(response.status, 400)
    assert.match(((await response.json()) as {message: string}).message, /unknown audit filter "user"/)
  })
})
