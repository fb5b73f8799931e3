// The operator's side end to end: the built CLI against a real `stconf serve`, once with the embedded
// store and once with a real ZooKeeper. Every case reads what the CLI printed and what the center kept.
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ADMIN_TOKEN, runCli, startServe, tempDir, type ServeHandle} from '../helpers/cli.js'
import {startZk, type TestZk} from '../helpers/zk-server.js'

const BYTES = {
  crlf: Buffer.from('a=1\r\nb=2\r\n'),
  noFinalNewline: Buffer.from('x=1\ny=2'),
  bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[s]\nk=v\n')]),
  latin1: Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3d, 0xe9, 0xe8, 0xff, 0x0a]),
}

for (const mode of ['embedded', 'zookeeper'] as const) {
  describe(`operator commands against serve (${mode} store)`, () => {
    let zk: TestZk | undefined
    let serve: ServeHandle
    let work: string
    const cli = (args: string[], input?: Buffer | string) =>
      runCli([...args], {cwd: work, input, env: {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN}})
    const put = (path: string, bytes: Buffer | string) => {
      mkdirSync(join(work, path, '..'), {recursive: true})
      writeFileSync(join(work, path), bytes)
    }
    /** Each case owns its env: pushes `contents` as versions 1, 2 ... of `key` there; the local file keeps the last. */
    const pushed = async (env: string, key: string, contents: string[]) => {
      for (const content of contents) {
        put(key, content)
        const result = await cli(['push', key, '--env', env])
        assert.equal(result.code, 0, result.stderr)
      }
    }
    const PORTS = ['[server]\nport=1\n', '[server]\nport=2\n', '[server]\nport=3\n']

    before(async () => {
      if (mode === 'zookeeper') zk = await startZk()
      serve = await startServe({zk: zk?.connect})
      work = tempDir()
    })
    after(async () => {
      await serve.stop()
      await zk?.destroy()
    })

    it('pushes and pulls bytes exactly (CRLF, no final newline, BOM, non-UTF-8)', async () => {
      for (const [name, bytes] of Object.entries(BYTES)) {
        put(`bytes/${name}.txt`, bytes)
        const pushed = await cli(['push', `bytes/${name}.txt`, '--env', 'prod', '-m', `bytes ${name}`])
        assert.equal(pushed.code, 0, pushed.stderr)
        const pulled = await cli(['pull', `bytes/${name}.txt`, '--env', 'prod', '-o', '-'])
        assert.equal(pulled.code, 0, pulled.stderr)
        assert.deepEqual(pulled.stdoutBytes, bytes, `${name} came back changed`)
        const toFile = await cli(['pull', `bytes/${name}.txt`, '--env', 'prod', '-o', `out/${name}`])
        assert.equal(toFile.code, 0, toFile.stderr)
        assert.deepEqual(readFileSync(join(work, 'out', name)), bytes)
      }
    })

    it('push reads ./<key> when no file is named', async () => {
      put('game/conf.ini', '[server]\nport=1\n')
      const first = await cli(['push', 'game/conf.ini', '--env', 'defaults', '--json'])
      assert.equal(first.code, 0, first.stderr)
      assert.equal(JSON.parse(first.stdout).version, 1)
      assert.equal((await cli(['pull', 'game/conf.ini', '--env', 'defaults', '-o', '-'])).stdout, '[server]\nport=1\n')
    })

    it('a push of identical bytes makes no version', async () => {
      await pushed('unchanged', 'game/conf.ini', PORTS.slice(0, 1))
      const same = await cli(['push', 'game/conf.ini', '--env', 'unchanged'])
      assert.equal(same.code, 0)
      assert.match(same.stdout, /unchanged/)
      const history = JSON.parse((await cli(['history', 'game/conf.ini', '--env', 'unchanged', '--json'])).stdout) as Array<{version: number}>
      assert.deepEqual(history.map((v) => v.version), [1])
    })

    it('history lists the versions newest first, each with its author, message, kind and time', async () => {
      put('game/conf.ini', '[server]\nport=1\n')
      assert.equal((await cli(['push', 'game/conf.ini', '--env', 'history', '-m', 'first'])).code, 0)
      put('game/conf.ini', '[server]\nport=2\n')
      assert.equal((await cli(['push', 'game/conf.ini', '--env', 'history', '-m', 'second'])).code, 0)
      const history = await cli(['history', 'game/conf.ini', '--env', 'history', '--json'])
      const versions = JSON.parse(history.stdout) as Array<Record<string, unknown>>
      assert.deepEqual(versions.map((v) => [v.version, v.message]), [[2, 'second'], [1, 'first']])
      assert.deepEqual(Object.keys(versions[0]).sort(), ['author', 'kind', 'message', 'sha256', 'size', 'time', 'version'])
      assert.equal(versions[0].author, 'admin')
      assert.equal(versions[0].kind, 'push')
      assert.match(String(versions[0].time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    })

    it('refuses a stale --expect-version with "conflict" and changes nothing', async () => {
      await pushed('stale', 'game/conf.ini', PORTS.slice(0, 2))
      put('game/conf.ini', '[server]\nport=3\n')
      const stale = await cli(['push', 'game/conf.ini', '--env', 'stale', '--expect-version', '1'])
      assert.notEqual(stale.code, 0)
      assert.match(stale.stderr, /conflict/)
      assert.equal(stale.stderr.trim().split('\n').length, 1)
      const pulled = await cli(['pull', 'game/conf.ini', '--env', 'stale', '-o', '-'])
      assert.equal(pulled.stdout, '[server]\nport=2\n')
      const ok = await cli(['push', 'game/conf.ini', '--env', 'stale', '--expect-version', '2', '--json'])
      assert.equal(JSON.parse(ok.stdout).version, 3)
    })

    it('diff exits 0 and prints nothing when the local file is the center\'s', async () => {
      await pushed('diff-equal', 'game/conf.ini', PORTS)
      const equal = await cli(['diff', 'game/conf.ini', '--env', 'diff-equal'])
      assert.equal(equal.code, 0, equal.stderr)
      assert.equal(equal.stdout, '')
    })

    it('diff exits 1 with the patch from the center to the local file when they differ', async () => {
      await pushed('diff-local', 'game/conf.ini', PORTS)
      put('game/conf.ini', '[server]\nport=4\n')
      const differ = await cli(['diff', 'game/conf.ini', '--env', 'diff-local'])
      assert.equal(differ.code, 1)
      assert.match(differ.stdout, /^-port=3$/m)
      assert.match(differ.stdout, /^\+port=4$/m)
    })

    it('diff --from --to compares two versions', async () => {
      await pushed('diff-versions', 'game/conf.ini', PORTS)
      const versions = await cli(['diff', 'game/conf.ini', '--env', 'diff-versions', '--from', '1', '--to', '2'])
      assert.equal(versions.code, 1)
      assert.match(versions.stdout, /^-port=1$/m)
      assert.match(versions.stdout, /^\+port=2$/m)
    })

    it('diff --against-env compares the key in two envs', async () => {
      await pushed('diff-prod', 'game/conf.ini', PORTS)
      put('staging.ini', '[server]\nport=9\n')
      assert.equal((await cli(['push', 'game/conf.ini', '--env', 'diff-staging', '--file', 'staging.ini'])).code, 0)
      const envs = await cli(['diff', 'game/conf.ini', '--env', 'diff-prod', '--against-env', 'diff-staging'])
      assert.equal(envs.code, 1)
      assert.match(envs.stdout, /^-port=3$/m)
      assert.match(envs.stdout, /^\+port=9$/m)
    })

    it('rolls back to an old version as a new version of kind rollback', async () => {
      await pushed('rollback', 'game/conf.ini', PORTS)
      const rolled = await cli(['rollback', 'game/conf.ini', '--env', 'rollback', '--to', '1', '--json'])
      assert.equal(rolled.code, 0, rolled.stderr)
      assert.equal(JSON.parse(rolled.stdout).version, 4)
      assert.equal((await cli(['pull', 'game/conf.ini', '--env', 'rollback', '-o', '-'])).stdout, '[server]\nport=1\n')
      const history = JSON.parse((await cli(['history', 'game/conf.ini', '--env', 'rollback', '--json'])).stdout)
      assert.equal(history[0].kind, 'rollback')
    })

    it('refuses a rollback to a version that does not exist (exit 3)', async () => {
      await pushed('rollback-missing', 'game/conf.ini', PORTS.slice(0, 1))
      const missing = await cli(['rollback', 'game/conf.ini', '--env', 'rollback-missing', '--to', '99'])
      assert.equal(missing.code, 3)
      assert.match(missing.stderr, /no version 99/)
    })

    it('validates known formats before pushing; --no-validate skips it', async () => {
      await pushed('validate', 'game/conf.ini', PORTS.slice(0, 1)) // the env exists: ls answers, and not "no env"
      const broken: Record<string, string> = {
        'app/a.json': '{"a": 1,,}',
        'app/a.yaml': 'a: [1, 2\nb: c',
        'app/a.toml': 'a = = 1',
        'app/a.ini': '[section\nk=v',
        'app/a.properties': 'k=\\u12G4',
      }
      for (const [key, text] of Object.entries(broken)) {
        put(key, text)
        const result = await cli(['push', key, '--env', 'validate'])
        assert.equal(result.code, 2, `${key} was accepted`)
        assert.match(result.stderr, new RegExp(`${key.replace('.', '\\.')} is not valid`))
      }

      const listed = JSON.parse((await cli(['ls', 'app', '--env', 'validate', '--json'])).stdout)
      assert.deepEqual(listed, [], 'a refused push left something behind')
      const forced = await cli(['push', 'app/a.json', '--env', 'validate', '--no-validate'])
      assert.equal(forced.code, 0, forced.stderr)
    })

    it('ls lists the keys of an env with their versions, and those under a prefix', async () => {
      await pushed('listing', 'game/conf.ini', PORTS)
      put('app/other.ini', 'x=1\n')
      assert.equal((await cli(['push', 'app/other.ini', '--env', 'listing'])).code, 0)
      const keys = JSON.parse((await cli(['ls', '--env', 'listing', '--json'])).stdout) as Array<{key: string; version: number}>
      assert.deepEqual(keys.map((k) => [k.key, k.version]), [['app/other.ini', 1], ['game/conf.ini', 3]])
      const onlyGame = JSON.parse((await cli(['ls', 'game', '--env', 'listing', '--json'])).stdout) as Array<{key: string}>
      assert.deepEqual(onlyGame.map((k) => k.key), ['game/conf.ini'])
    })

    it('audit names the writer of each change', async () => {
      await pushed('audited', 'game/conf.ini', PORTS.slice(0, 2))
      assert.equal((await cli(['rollback', 'game/conf.ini', '--env', 'audited', '--to', '1'])).code, 0)
      const audit = JSON.parse((await cli(['audit', '--env', 'audited', '--json'])).stdout) as Array<{actor: string; action: string; key?: string}>
      assert.deepEqual(audit.map((e) => [e.action, e.actor]).sort(), [['push', 'admin'], ['push', 'admin'], ['rollback', 'admin']])
    })

    it('audit --since a time to come lists nothing', async () => {
      await pushed('audit-future', 'game/conf.ini', PORTS.slice(0, 1))
      const future = JSON.parse((await cli(['audit', '--since', '2999-01-01', '--json'])).stdout)
      assert.deepEqual(future, [])
    })

    it('enforces tokens and roles: 401 without or with a wrong token, 403 for a too-low role', async () => {
      await pushed('roles', 'game/conf.ini', PORTS.slice(0, 1))
      const created = await cli(['token', 'create', 'reader', '--role', 'viewer'])
      assert.equal(created.code, 0, created.stderr)
      const viewerToken = created.stdout.trim().split('\n').at(-1)!
      assert.match(viewerToken, /^stc_/)
      const asViewer = (args: string[]) => runCli(args, {cwd: work, env: {STCONF_SERVER: serve.url, STCONF_TOKEN: viewerToken}})
      assert.equal((await asViewer(['pull', 'game/conf.ini', '--env', 'roles', '-o', '-'])).code, 0)
      const denied = await asViewer(['push', 'game/conf.ini', '--env', 'roles'])
      assert.equal(denied.code, 5)
      assert.match(denied.stderr, /role viewer; this needs operator/)
      const noToken = await runCli(['ls', '--env', 'roles'], {cwd: work, env: {STCONF_SERVER: serve.url}})
      assert.equal(noToken.code, 5)
      assert.match(noToken.stderr, /missing token/)
      const wrong = await runCli(['ls', '--env', 'roles', '--token', 'nope'], {cwd: work, env: {STCONF_SERVER: serve.url}})
      assert.match(wrong.stderr, /invalid token/)
      const response = await fetch(`${serve.url}/api/v1/tokens`, {headers: {authorization: `Bearer ${viewerToken}`}})
      assert.equal(response.status, 403)
      assert.equal(((await response.json()) as {error: string}).error, 'forbidden')
      const tokensFile = readFileSync(join(serve.dataDir, 'tokens.json'), 'utf8')
      assert.ok(!tokensFile.includes(viewerToken) && !tokensFile.includes(ADMIN_TOKEN), 'a token is stored in clear')
    })

    it('gives one clear line and a non-zero exit for bad input, and changes nothing', async () => {
      await pushed('prod', 'game/conf.ini', PORTS.slice(0, 1))
      const before = JSON.parse((await cli(['ls', '--env', 'prod', '--json'])).stdout)
      const cases: Array<[string[], RegExp]> = [
        [['push', '../etc/passwd', '--env', 'prod'], /"\.\." segments are not allowed/],
        [['push', '/etc/passwd', '--env', 'prod'], /absolute paths/],
        [['push', 'game//conf.ini', '--env', 'prod'], /empty path segment/],
        [['push', 'game/./conf.ini', '--env', 'prod'], /segments are not allowed/],
        [['push', 'game/.hidden', '--env', 'prod'], /may not start with/],
        [['push', 'conf.ini', '--env', 'prod'], /needs an app and a file name/],
        [['push', 'game/conf.ini', '--env', 'Prod!'], /invalid env/],
        [['push', 'game/missing.ini', '--env', 'prod'], /local file not found: .*game\/missing\.ini/],
        [['pull', 'game/conf.ini', '--env', 'prod', '--version', '42', '-o', '-'], /no version 42/],
        [['pull', 'game/none.ini', '--env', 'prod', '-o', '-'], /no key game\/none\.ini/],
        [['history', 'game/none.ini', '--env', 'prod'], /no key game\/none\.ini/],
      ]
      for (const [args, pattern] of cases) {
        const result = await cli(args)
        assert.notEqual(result.code, 0, `${args.join(' ')} succeeded`)
        assert.match(result.stderr, pattern, args.join(' '))
        assert.equal(result.stderr.trim().split('\n').length, 1, `more than one line for ${args.join(' ')}: ${result.stderr}`)
        assert.doesNotMatch(result.stderr, /\s+at .*\(/, 'a stack trace leaked')
      }

      put('big/file.txt', Buffer.alloc(1024 * 1024 + 1, 0x61))
      const big = await cli(['push', 'big/file.txt', '--env', 'prod'])
      assert.equal(big.code, 2)
      assert.match(big.stderr, /1048576 bytes \(1 MiB\)/)
      const unreachable = await runCli(['ls', '--server', 'http://127.0.0.1:9', '--token', 'x'], {cwd: work})
      assert.equal(unreachable.code, 6)
      assert.match(unreachable.stderr, /http:\/\/127\.0\.0\.1:9/)
      assert.deepEqual(JSON.parse((await cli(['ls', '--env', 'prod', '--json'])).stdout), before)
    })

    it('never loses an acknowledged push nor reuses a version under parallel pushes', async () => {
      const writers = 12
      for (let i = 0; i < writers; i++) put(`par/${i}.txt`, `writer ${i}\n`)
      const results = await Promise.all(
        Array.from({length: writers}, (_, i) => cli(['push', 'par/file.txt', '--file', `par/${i}.txt`, '--env', 'race', '--json'])),
      )
      const versions = results.map((r) => {
        assert.equal(r.code, 0, r.stderr)
        return JSON.parse(r.stdout).version as number
      })
      assert.deepEqual([...versions].sort((a, b) => a - b), Array.from({length: writers}, (_, i) => i + 1))
      const history = JSON.parse((await cli(['history', 'par/file.txt', '--env', 'race', '--json'])).stdout) as Array<{version: number; sha256: string}>
      assert.equal(history.length, writers)
      for (const r of results) {
        const answer = JSON.parse(r.stdout)
        assert.ok(history.some((h) => h.version === answer.version && h.sha256 === answer.sha256))
      }
    })

    it('answers JSON errors from the HTTP API with proper status codes', async () => {
      await pushed('api', 'game/conf.ini', [...PORTS, '[server]\nport=4\n'])
      const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}
      const notFound = await fetch(`${serve.url}/api/v1/config/api/game/none.ini`, {headers: auth})
      assert.equal(notFound.status, 404)
      assert.deepEqual(Object.keys((await notFound.json()) as object).sort(), ['error', 'hint', 'message'])
      const badKey = await fetch(`${serve.url}/api/v1/config/api/game/..%2F..%2Fx`, {method: 'PUT', headers: auth, body: 'x'})
      assert.equal(badKey.status, 400)
      const stale = await fetch(`${serve.url}/api/v1/config/api/game/conf.ini`, {method: 'PUT', headers: {...auth, 'if-match': '"1"'}, body: 'x'})
      assert.equal(stale.status, 409)
      const current = await fetch(`${serve.url}/api/v1/config/api/game/conf.ini`, {headers: auth})
      assert.equal(current.headers.get('x-stconf-version'), '4')
      assert.equal(current.headers.get('etag'), '"4"')
      const health = await fetch(`${serve.url}/healthz`)
      assert.equal(health.status, 200)
    })
  })
}

describe('serve restarts', () => {
  it('keeps content, history and tokens across a restart (embedded store)', async () => {
    const dataDir = tempDir('stconf-serve-')
    const work = tempDir()
    writeFileSync(join(work, 'conf.ini'), 'k=v\n')
    let serve = await startServe({dataDir})
    const env = () => ({STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN})
    assert.equal((await runCli(['push', 'game/conf.ini', '--file', 'conf.ini'], {cwd: work, env: env()})).code, 0)
    await serve.stop()
    serve = await startServe({dataDir})
    const pulled = await runCli(['pull', 'game/conf.ini', '-o', '-'], {cwd: work, env: env()})
    assert.equal(pulled.stdout, 'k=v\n')
    await assert.rejects(startServe({dataDir}), /another stconf serve \(pid \d+\) is using/, 'two serves shared one data dir')
    const history = JSON.parse((await runCli(['history', 'game/conf.ini', '--json'], {cwd: work, env: env()})).stdout)
    assert.equal(history.length, 1)
    await serve.stop()
  })

  it('prints a new admin token once on first start and never again', async () => {
    const dataDir = tempDir('stconf-serve-')
    const first = await startServe({dataDir, env: {STCONF_ADMIN_TOKEN: ''}})
    const token = /^(stc_\S+)$/m.exec(first.output())?.[1]
    assert.ok(token, first.output())
    const ok = await runCli(['token', 'list'], {env: {STCONF_SERVER: first.url, STCONF_TOKEN: token}})
    assert.equal(ok.code, 0, ok.stderr)
    await first.stop()
    const second = await startServe({dataDir, env: {STCONF_ADMIN_TOKEN: ''}})
    assert.doesNotMatch(second.output(), /stc_/)
    await second.stop()
  })
})
