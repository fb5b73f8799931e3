// What `npm install -g stconf` gives a user: the packed tarball installed into a fresh prefix runs
// from the bundle (nothing of the work tree on its way) and talks to a real serve.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ADMIN_TOKEN, ROOT, runCli, startServe, tempDir, type ServeHandle} from '../helpers/cli.js'

describe('npm pack + npm install -g', () => {
  let dir: string
  let serve: ServeHandle
  let stconf: string

  before(async () => {
    dir = tempDir('stconf-pack-')
    // built already (npm test builds first): no prepare run here
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {cwd: ROOT, stdio: 'ignore'})
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))!
    // dependencies come from npm's cache when it has them (npm ci filled it)
    execFileSync('npm', ['install', '-g', join(dir, tarball), '--prefix', join(dir, 'prefix'), '--prefer-offline', '--no-audit', '--no-fund'], {cwd: dir, stdio: 'ignore'})
    stconf = join(dir, 'prefix', 'bin', 'stconf')
    serve = await startServe({dataDir: join(dir, 'data')})
  })

  after(async () => {
    await serve?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('installs the bundle, not the sources', () => {
    const installed = join(dir, 'prefix', 'lib', 'node_modules', 'stconf')
    assert.ok(!readdirSync(installed).includes('src'), 'the TypeScript sources were packed')
    assert.deepEqual(readdirSync(join(installed, 'dist')).sort(), ['chunks', 'stconf.cjs'])
    assert.ok(readdirSync(join(installed, 'dist', 'chunks')).every((name) => /\.[cm]js$/.test(name)))
  })

  it('the installed stconf pushes and pulls against serve', async () => {
    const env = {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}
    const version = await runCli(['--version'], {exec: [stconf], cwd: dir})
    assert.match(version.stdout, /^stconf\/\d+\.\d+\.\d+ /)
    const pushed = await runCli(['push', 'game/packed.ini', '--file', '-'], {exec: [stconf], cwd: dir, env, input: 'packed=1\n'})
    assert.equal(pushed.code, 0, pushed.stderr)
    const pulled = await runCli(['pull', 'game/packed.ini', '-o', '-'], {exec: [stconf], cwd: dir, env})
    assert.equal(pulled.stdout, 'packed=1\n')
  })
})
