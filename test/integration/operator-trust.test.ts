// Trust for a new operator (issue 7): no silent success, no lock-out, and one clear line with the
// documented exit code for each mistake. The built CLI against a real `stconf serve` (embedded store;
// the ZooKeeper side of envs is in serve-zk.test.ts).
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ADMIN_TOKEN, runCli, startServe, tempDir, type CliResult, type ServeHandle} from '../helpers/cli.js'

/** One line on stderr, no stack trace. */
function oneLine(result: CliResult): string {
  const lines = result.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `more than one line on stderr: ${result.stderr}`)
  assert.doesNotMatch(result.stderr, /internal error|\s+at .*\(/)
  return lines[0]
}

describe('operator trust (real serve, built CLI)', () => {
  let serve: ServeHandle
  let work: string
  const cli = (args: string[], input?: string) => runCli(args, {cwd: work, input, env: {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN}})
  const put = (path: string, bytes: string) => {
    mkdirSync(join(work, path, '..'), {recursive: true})
    writeFileSync(join(work, path), bytes)
  }
  /** What the first case leaves (two keys in prod, one in staging), for a case that runs alone. */
  const twoEnvs = async () => {
    put('game/conf.ini', 'max = 1\n')
    put('game/rates.ini', 'xp = 1\n')
    for (const [key, env] of [['game/conf.ini', 'prod'], ['game/rates.ini', 'prod'], ['game/conf.ini', 'staging']]) {
      const result = await cli(['push', key, '--env', env])
      assert.equal(result.code, 0, result.stderr)
    }
  }

  before(async () => {
    serve = await startServe()
    work = tempDir()
  })
  after(async () => serve.stop())

  it('a push to a new env says "created env" on stderr, once', async () => {
    put('game/conf.ini', 'max = 1\n')
    const first = await cli(['push', 'game/conf.ini', '--env', 'prod'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stderr, 'created env prod\n')
    put('game/rates.ini', 'xp = 1\n')
    const second = await cli(['push', 'game/rates.ini', '--env', 'prod'])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.stderr, '')
    const staging = await cli(['push', 'game/conf.ini', '--env', 'staging', '--json'])
    assert.equal(JSON.parse(staging.stdout).createdEnv, true)
    assert.equal(staging.stderr, 'created env staging\n')
  })

  it('reading commands (ls, history, pull, diff, status, audit --env) on an env that never had a key exit 3 with the known envs and the closest one', async () => {
    await twoEnvs()
    const expected = 'stconf: no env prdo - envs: prod, staging; did you mean prod?'
    for (const args of [
      ['ls'],
      ['history', 'game/conf.ini'],
      ['pull', 'game/conf.ini', '-o', '-'],
      ['diff', 'game/conf.ini'],
      ['diff', 'game/conf.ini', '--from', '1'],
      ['status'],
      ['audit'],
    ]) {
      const result = await cli([...args, '--env', 'prdo'])
      assert.equal(result.code, 3, `${args.join(' ')}: ${result.stderr}`)
      assert.equal(oneLine(result), expected, args.join(' '))
    }

    const against = await cli(['diff', 'game/conf.ini', '--env', 'prod', '--against-env', 'stagign'])
    assert.equal(against.code, 3)
    assert.match(oneLine(against), /no env stagign - envs: prod, staging; did you mean staging\?/)
    const far = await cli(['ls', '--env', 'zzzzzz'])
    assert.equal(far.code, 3)
    assert.equal(oneLine(far), 'stconf: no env zzzzzz - envs: prod, staging')
    // A missing key of a known env is still about the key.
    const missingKey = await cli(['history', 'game/none.ini', '--env', 'prod'])
    assert.equal(missingKey.code, 3)
    assert.match(oneLine(missingKey), /no key game\/none\.ini in env prod/)
  })

  it('env ls lists every env with its key and instance counts', async () => {
    await twoEnvs()
    // An http-source agent's heartbeat, as `stconf agent` sends it, makes one instance of prod.
    const beat = await fetch(`${serve.url}/api/v1/instances/prod/gs-1`, {
      method: 'PUT',
      headers: {authorization: `Bearer ${ADMIN_TOKEN}`},
      body: JSON.stringify({host: 'gs-1', pid: 1, agentVersion: 't', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), files: [], intervalMs: 60_000}),
    })
    assert.equal(beat.status, 200)
    const listed = await cli(['env', 'ls', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.deepEqual(JSON.parse(listed.stdout), [
      {env: 'prod', keys: 2, instances: 1},
      {env: 'staging', keys: 1, instances: 0},
    ])
    const table = await cli(['env', 'ls'])
    assert.match(table.stdout, /^ENV\s+KEYS\s+INSTANCES\nprod\s+2\s+1\nstaging\s+1\s+0$/m)
  })

  it('refuses an empty file unless --allow-empty', async () => {
    put('game/empty.ini', '')
    const refused = await cli(['push', 'game/empty.ini', '--env', 'prod'])
    assert.equal(refused.code, 2)
    assert.match(oneLine(refused), /game\/empty\.ini is empty \(0 bytes\) - .*--allow-empty/)
    const stdin = await cli(['push', 'game/empty.ini', '--env', 'prod', '--file', '-'], '')
    assert.equal(stdin.code, 2)
    assert.match(oneLine(stdin), /stdin is empty/)
    assert.equal((await cli(['history', 'game/empty.ini', '--env', 'prod'])).code, 3, 'a refused push made a version')
    const allowed = await cli(['push', 'game/empty.ini', '--env', 'prod', '--allow-empty', '--json'])
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.equal(JSON.parse(allowed.stdout).size, 0)
  })

  /** app/<name>.ini pushed as version 1, pulled, then pushed as version 2: the local file is an older pull. */
  const olderPull = async (name: string) => {
    const key = `app/${name}.ini`
    put(`src/${name}-v1.ini`, 'a = 1\nb = 1\nc = 1\n')
    put(`src/${name}-v2.ini`, 'a = 1\nb = 2\nc = 1\n')
    assert.equal((await cli(['push', key, '--env', 'prod', '--file', `src/${name}-v1.ini`])).code, 0)
    assert.equal((await cli(['pull', key, '--env', 'prod'])).code, 0)
    assert.equal((await cli(['push', key, '--env', 'prod', '--file', `src/${name}-v2.ini`])).code, 0)
    return key
  }

  it('pull overwrites a file that is an older pull', async () => {
    const key = await olderPull('older')
    const newer = await cli(['pull', key, '--env', 'prod'])
    assert.equal(newer.code, 0, newer.stderr)
    assert.equal(readFileSync(join(work, key), 'utf8'), 'a = 1\nb = 2\nc = 1\n')
  })

  it('pull refuses to overwrite local edits (exit 4) and leaves the file as it is', async () => {
    const key = await olderPull('edited')
    put(key, 'a = 9\nb = 2\nc = 9\nd = 9\n')
    const refused = await cli(['pull', key, '--env', 'prod'])
    assert.equal(refused.code, 4)
    assert.match(oneLine(refused), /app\/edited\.ini has local edits: it matches no version of prod\/app\/edited\.ini, and 3 lines differ from version 2 - see them with `stconf diff app\/edited\.ini --env prod`, or overwrite them with --force/)
    assert.equal(readFileSync(join(work, key), 'utf8'), 'a = 9\nb = 2\nc = 9\nd = 9\n')
  })

  it('pull --force overwrites local edits', async () => {
    const key = await olderPull('forced')
    put(key, 'a = 9\n')
    const forced = await cli(['pull', key, '--env', 'prod', '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(readFileSync(join(work, key), 'utf8'), 'a = 1\nb = 2\nc = 1\n')
  })

  it('local file-system failures are one line naming the path and the cause, exit 2', async () => {
    await twoEnvs()
    const cases: Array<[string[], RegExp]> = [
      [['pull', 'game/conf.ini', '--env', 'prod', '-o', '/proc/version', '--force'], /^stconf: cannot write \/proc\/version: .+ \(E[A-Z]+\)$/],
      [['pull', 'game/conf.ini', '--env', 'prod', '-o', 'game/conf.ini/inside'], /^stconf: cannot write .*\/game\/conf\.ini\/inside: a part of the path is not a directory \(ENOTDIR\)$/],
      [['pull', 'game/conf.ini', '--env', 'prod', '-o', 'game'], /^stconf: cannot write .*\/game: it is a directory \(EISDIR\)$/],
      [['push', 'game/conf.ini', '--env', 'prod', '--file', 'game/conf.ini/x'], /^stconf: cannot read .*\/game\/conf\.ini\/x: a part of the path is not a directory \(ENOTDIR\)$/],
    ]
    for (const [args, pattern] of cases) {
      const result = await cli(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(oneLine(result), pattern)
    }

    const serveData = await runCli(['serve', '--port', '0', '--data', join(work, 'game/conf.ini/data')], {cwd: work})
    assert.equal(serveData.code, 2)
    assert.match(oneLine(serveData), /^stconf: cannot create .*\/game\/conf\.ini\/data: a part of the path is not a directory \(ENOTDIR\) - pick a --data dir/)
  })

  it('--server without http:// or https:// is bad input (exit 2), not a bug', async () => {
    const result = await runCli(['ls', '--server', '127.0.0.1:7070', '--token', 'x'], {cwd: work})
    assert.equal(result.code, 2)
    assert.match(oneLine(result), /^stconf: invalid --server "127\.0\.0\.1:7070": the URL needs http:\/\/ or https:\/\/ - /)
    const fromEnv = await runCli(['env', 'ls'], {cwd: work, env: {STCONF_SERVER: 'center:7070', STCONF_TOKEN: 'x'}})
    assert.equal(fromEnv.code, 2)
    assert.match(oneLine(fromEnv), /needs http:\/\/ or https:\/\//)
  })

  it('a flag value of the wrong kind names the flag and what is wrong with it, exit 2', async () => {
    const port = await runCli(['serve', '--port', 'abc'])
    assert.equal(port.code, 2)
    assert.equal(oneLine(port), 'stconf: invalid --port: expected an integer but received: abc - see `stconf serve --help`')
    const limit = await runCli(['history', 'game/conf.ini', '--limit', '0'])
    assert.equal(limit.code, 2)
    assert.match(oneLine(limit), /^stconf: invalid --limit: expected an integer greater than or equal to 1 but received: 0 - see `stconf history --help`$/)
  })

  it('an unknown command gets one line with the closest command, exit 2', async () => {
    const typo = await runCli(['versoin'])
    assert.equal(typo.code, 2)
    assert.equal(oneLine(typo), 'stconf: unknown command "versoin" - did you mean version? see `stconf help` for every command')
    const topic = await runCli(['tokn', 'list'])
    assert.equal(topic.code, 2)
    assert.match(oneLine(topic), /did you mean token list\?/)
  })

  it('an unknown command with nothing close gets one line pointing at help, exit 2', async () => {
    const nothingClose = await runCli(['frobnicate'])
    assert.equal(nothingClose.code, 2)
    assert.equal(oneLine(nothingClose), 'stconf: unknown command "frobnicate" - see `stconf help` for every command')
  })

  it('version and --version print the version', async () => {
    for (const args of [['version'], ['--version']]) {
      const version = await runCli(args)
      assert.equal(version.code, 0, version.stderr)
      assert.match(version.stdout, /^stconf\/\d+\.\d+\.\d+ /)
    }
  })

  it('help lists the commands, and help <command> that command\'s flags', async () => {
    const help = await runCli(['help'])
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /COMMANDS[\s\S]*push/)
    const helpPull = await runCli(['help', 'pull'])
    assert.match(helpPull.stdout, /--force/)
  })

  it('help with an unknown command gets one line with the closest command, exit 2', async () => {
    const helpTypo = await runCli(['help', 'pul'])
    assert.equal(helpTypo.code, 2)
    assert.match(oneLine(helpTypo), /^stconf: unknown command "pul" - did you mean pull\?/)
  })

  it('revokes an admin token while another admin token is left', async () => {
    const made = await cli(['token', 'create', 'ops', '--role', 'admin'])
    assert.equal(made.code, 0, made.stderr)
    assert.equal((await cli(['token', 'revoke', 'ops'])).code, 0)
    const tokens = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as Array<{name: string}>
    assert.ok(!tokens.some((t) => t.name === 'ops'))
  })

  it('refuses to revoke the last admin token (exit 4)', async () => {
    const last = await cli(['token', 'revoke', 'admin'])
    assert.equal(last.code, 4)
    assert.equal(oneLine(last), 'stconf: "admin" is the last admin token; revoking it would lock everyone out - create another admin token first: stconf token create <name> --role admin')
    const tokens = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as Array<{name: string}>
    assert.deepEqual(tokens.map((t) => t.name), ['admin'])
  })
})

describe('stconf token recover (real serve, built CLI)', () => {
  it('makes a new admin token in the data dir, audited, and never under a running serve', async () => {
    // Like a first start that stored the admin token's hash but never showed it: no known token.
    const first = await startServe({env: {STCONF_ADMIN_TOKEN: ''}})
    const dataDir = first.dataDir
    try {
      const busy = await runCli(['token', 'recover', '--data', dataDir])
      assert.equal(busy.code, 2)
      assert.match(oneLine(busy), /^stconf: another stconf serve \(pid \d+\) is using .* - stop that serve first/)
    } finally {
      await first.stop()
    }

    const recovered = await runCli(['token', 'recover', '--data', dataDir, '--name', 'alice'])
    assert.equal(recovered.code, 0, recovered.stderr)
    const token = recovered.stdout.trim().split('\n').at(-1)!
    assert.match(token, /^stc_\S+$/)
    const again = await runCli(['token', 'recover', '--data', dataDir, '--name', 'alice'])
    assert.equal(again.code, 4)
    assert.match(oneLine(again), /a token named "alice" exists already/)
    const notData = await runCli(['token', 'recover', '--data', tempDir()])
    assert.equal(notData.code, 2)
    assert.match(oneLine(notData), /is not a stconf data dir \(no tokens\.json\)/)

    const back = await startServe({dataDir, env: {STCONF_ADMIN_TOKEN: ''}})
    try {
      const asAlice = (args: string[]) => runCli(args, {env: {STCONF_SERVER: back.url, STCONF_TOKEN: token}})
      const tokens = JSON.parse((await asAlice(['token', 'list', '--json'])).stdout) as Array<{name: string; role: string}>
      assert.deepEqual(tokens.map((t) => `${t.name} ${t.role}`).sort(), ['admin admin', 'alice admin'])
      const audit = JSON.parse((await asAlice(['audit', '--json'])).stdout) as Array<{action: string; actor: string; detail?: string}>
      const entry = audit.find((e) => e.action === 'token-recover')
      assert.ok(entry, JSON.stringify(audit))
      assert.match(entry.actor, /^local:/)
      assert.equal(entry.detail, 'alice (admin)')
    } finally {
      await back.stop()
    }
  })
})
