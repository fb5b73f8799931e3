// The single executable (npm run package): run from an empty directory with a PATH that holds no
// `node`, it serves (embedded store and ZooKeeper), pushes, pulls and runs the agent once, check and
// reload included. Nothing of the repository is on its way: it only has what is inside it.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {AGENT_GLIBC_TUNABLES, AGENT_NODE_FLAGS} from '../../src/commands/agent.js'
import {ADMIN_TOKEN, ROOT, runCli, startServe, tempDir, waitUntil, type ServeHandle} from '../helpers/cli.js'
import {startZk, type TestZk} from '../helpers/zk-server.js'

const EXECUTABLE = join(ROOT, 'dist', 'sea', 'stconf')

describe('the single executable', () => {
  let dir: string
  let env: Record<string, string | undefined>
  let serve: ServeHandle | undefined
  let zkServe: ServeHandle | undefined
  let zk: TestZk | undefined
  const stconf = (args: string[], input?: string, extra: Record<string, string> = {}) =>
    runCli(args, {exec: ['stconf'], cwd: join(dir, 'empty'), env: {...env, ...extra}, input})
  /** The version 1 the agent cases apply (the push case makes it first; a case run alone makes it itself), or the content given. */
  const pushSeaConf = async (content = 'rate=1\nname=sea\n') => {
    const pushed = await stconf(['push', 'game/conf.ini', '--file', '-'], content, {STCONF_SERVER: serve!.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'})
    assert.equal(pushed.code, 0, pushed.stderr)
  }

  before(async () => {
    assert.ok(existsSync(EXECUTABLE), `${EXECUTABLE} is missing - run npm run package first`)
    dir = tempDir('stconf-sea-')
    mkdirSync(join(dir, 'empty'))
    mkdirSync(join(dir, 'bin'))
    symlinkSync(EXECUTABLE, join(dir, 'bin', 'stconf'))
    // Only the executable on PATH; reload and check commands use the shell's builtins. HOME is empty
    // too, so no config of this machine's user is read.
    env = {PATH: join(dir, 'bin'), HOME: join(dir, 'empty'), NODE_OPTIONS: undefined, NODE_PATH: undefined, GLIBC_TUNABLES: undefined, STCONF_ADMIN_TOKEN: ADMIN_TOKEN}
    serve = await startServe({exec: ['stconf'], cwd: join(dir, 'empty'), dataDir: join(dir, 'data'), env: env as Record<string, string>})
  })

  after(async () => {
    await serve?.stop()
    await zkServe?.stop()
    await zk?.destroy()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('has no node on its PATH and reports Node 24 as its runtime', async () => {
    const which = spawnSync('/bin/sh', ['-c', 'command -v node || echo none'], {env, encoding: 'utf8'})
    assert.equal(which.stdout.trim(), 'none')
    const version = await stconf(['--version'])
    assert.equal(version.code, 0, version.stderr)
    assert.match(version.stdout, /^stconf\/\d+\.\d+\.\d+ linux-x64 node-v24\./)
  })

  it('answers an unknown command and `stconf tui` (not in the executable) with one line, exit 2', async () => {
    const typo = await stconf(['versoin'])
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /^stconf: unknown command "versoin" - did you mean version\?/)
    const tui = await stconf(['tui'])
    assert.equal(tui.code, 2)
    assert.equal(tui.stderr.trim().split('\n').length, 1, tui.stderr)
    assert.match(tui.stderr, /single executable has no `stconf tui` - run the dashboard from an npm install/)
  })

  it('pushes and pulls byte-exact against its own serve', async () => {
    const client = {STCONF_SERVER: serve!.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}
    const pushed = await stconf(['push', 'game/conf.ini', '--file', '-'], 'rate=1\nname=sea\n', client)
    assert.equal(pushed.code, 0, pushed.stderr)
    const pulled = await stconf(['pull', 'game/conf.ini', '-o', '-'], undefined, client)
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(pulled.stdout, 'rate=1\nname=sea\n')
    const bad = await stconf(['pull', 'game/missing.ini', '-o', '-'], undefined, client)
    assert.equal(bad.code, 3, 'a missing key is exit 3, also from the executable')
  })

  it('agent --once over http: checks, writes, reloads and reports in sync', async () => {
    await pushSeaConf()
    const config = join(dir, 'agent-http.json')
    const dest = join(dir, 'out-http', 'conf.ini')
    const reloads = join(dir, 'reloads-http')
    writeFileSync(config, JSON.stringify({
      source: serve!.url, token: ADMIN_TOKEN, env: 'prod', host: 'sea-http', cacheDir: join(dir, 'cache-http'),
      files: [{key: 'game/conf.ini', dest, check: 'test -s {{path}}', reload: `echo reloaded >> ${reloads}`}],
    }))
    const once = await stconf(['agent', '--config', config, '--once'])
    assert.equal(once.code, 0, once.stdout + once.stderr)
    assert.match(once.stdout, /game\/conf\.ini -> .*: ok version 1/)
    assert.equal(readFileSync(dest, 'utf8'), 'rate=1\nname=sea\n')
    assert.equal(readFileSync(reloads, 'utf8'), 'reloaded\n')
  })

  it('agent --daemon starts the executable again in the background, which runs with the agent\'s V8 flags and malloc tunables', async () => {
    await pushSeaConf()
    const config = join(dir, 'agent-daemon.json')
    const dest = join(dir, 'out-daemon', 'conf.ini')
    const pidFile = join(dir, 'agent.pid')
    writeFileSync(config, JSON.stringify({
      source: serve!.url, token: ADMIN_TOKEN, env: 'prod', host: 'sea-daemon', cacheDir: join(dir, 'cache-daemon'),
      files: [{key: 'game/conf.ini', dest}],
    }))
    const started = await stconf(['agent', '--config', config, '--daemon', '--pid-file', pidFile, '--log-file', join(dir, 'daemon.log')])
    assert.equal(started.code, 0, started.stderr)
    const pid = Number(await waitUntil('the pid file', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()))
    try {
      await waitUntil('the daemon to apply the file', () => existsSync(dest) && readFileSync(dest, 'utf8') === 'rate=1\nname=sea\n')
      // re-executed in place (the pid in the pid file) with the flags in Node's options at start-up
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      assert.equal(argv[1], `--node-options=${AGENT_NODE_FLAGS.join(' ')}`, argv.join(' '))
      assert.deepEqual(argv.slice(2, 4), ['agent', '--config'])
      assert.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`GLIBC_TUNABLES=${AGENT_GLIBC_TUNABLES}`), 'and with its malloc tunables')
      await pushSeaConf('rate=2\nname=sea\n')
      await waitUntil('the re-executed daemon to apply the next version', () => readFileSync(dest, 'utf8') === 'rate=2\nname=sea\n')
      assert.doesNotMatch(readFileSync(join(dir, 'daemon.log'), 'utf8'), /Warning|warn /, 'no warning from Node (a rejected code cache) nor from the agent')
    } finally {
      process.kill(pid, 'SIGTERM')
    }

    await waitUntil('the daemon to stop and remove its pid file', () => !existsSync(pidFile))
  })

  it('agent --once from ZooKeeper, behind serve --zk', async () => {
    zk = await startZk()
    zkServe = await startServe({exec: ['stconf'], cwd: join(dir, 'empty'), dataDir: join(dir, 'zk-data'), zk: zk.connect, env: env as Record<string, string>})
    const client = {STCONF_SERVER: zkServe.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}
    const pushed = await stconf(['push', 'game/zk.ini', '--file', '-'], 'zk=1\n', client)
    assert.equal(pushed.code, 0, pushed.stderr)
    const config = join(dir, 'agent-zk.json')
    const dest = join(dir, 'out-zk', 'zk.ini')
    writeFileSync(config, JSON.stringify({
      source: `zk://${zk.connect}/stconf`, env: 'prod', host: 'sea-zk', cacheDir: join(dir, 'cache-zk'),
      files: [{key: 'game/zk.ini', dest, reload: 'true'}],
    }))
    const once = await stconf(['agent', '--config', config, '--once'])
    assert.equal(once.code, 0, once.stdout + once.stderr)
    assert.equal(readFileSync(dest, 'utf8'), 'zk=1\n')
  })
})
