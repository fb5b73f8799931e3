// The subprocess wrapper against real shells: exit codes, the group kill on timeout and abort
// (SIGKILL once the grace is over), the output tail, the environment, and a command that cannot start.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {ExecError, runShell} from '../../src/lib/exec.js'
import {waitUntil} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'stconf-exec-'))
after(() => rmSync(dir, {recursive: true, force: true}))

/** Gone, or a zombie waiting for its reaper: either way it no longer runs. */
function stopped(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return true
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]?.startsWith('Z') ?? true
  } catch {
    return true
  }
}

async function failure(promise: Promise<unknown>): Promise<ExecError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof ExecError, String(error))
    return error
  }

  assert.fail('the command succeeded')
}

describe('runShell', () => {
  it('returns stdout and stderr together on exit 0', async () => {
    const result = await runShell('echo one; echo two >&2; echo three', {timeoutMs: 10_000})
    assert.equal(result.exitCode, 0)
    // two pipes: lines arrive whole, their order across the pipes is up to the scheduler
    assert.deepEqual(result.output.split('\n').sort(), ['one', 'three', 'two'])
  })

  it('a non-zero exit is an ExecError with the code and the last line of output', async () => {
    const error = await failure(runShell('echo first; echo "the reason" >&2; exit 3', {timeoutMs: 10_000}))
    assert.equal(error.reason, 'exit')
    assert.equal(error.commandExitCode, 3)
    assert.equal(error.code, 'failed')
    assert.match(error.message, /exited with 3: the reason$/)
  })

  it('a command killed by a signal reports 128 + the signal number', async () => {
    const error = await failure(runShell('kill -9 $$', {timeoutMs: 10_000}))
    assert.equal(error.commandExitCode, 137)
  })

  it('a timeout kills the whole process group, children of the shell included', async () => {
    const pidFile = join(dir, 'child.pid')
    const error = await failure(runShell(`sleep 60 & echo $! > ${pidFile}; wait`, {timeoutMs: 300}))
    assert.equal(error.reason, 'timeout')
    assert.match(error.message, /timed out/)
    // The command's output closes as its last process exits, a moment before that process is a zombie.
    const child = Number(readFileSync(pidFile, 'utf8'))
    await waitUntil(`the shell's child ${child} to stop`, () => stopped(child))
  })

  it('a command that ignores SIGTERM is killed with SIGKILL after the grace', async () => {
    const pidFile = join(dir, 'stubborn.pid')
    const error = await failure(runShell(`trap '' TERM; sleep 60 & echo $! > ${pidFile}; wait`, {timeoutMs: 300, killGraceMs: 200}))
    assert.equal(error.reason, 'timeout')
    const child = Number(readFileSync(pidFile, 'utf8'))
    await waitUntil(`the shell's child ${child} to stop`, () => stopped(child))
  })

  it('an abort stops the running command', async () => {
    const controller = new AbortController()
    const pidFile = join(dir, 'aborted.pid')
    const running = runShell(`echo $$ > ${pidFile}; sleep 60`, {timeoutMs: 60_000, signal: controller.signal})
    await waitUntil('the command running', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '')
    controller.abort()
    const error = await failure(running)
    assert.equal(error.reason, 'aborted')
    assert.match(error.message, /was stopped/)
  })

  it('a command given an aborted signal does not run', async () => {
    const controller = new AbortController()
    controller.abort()
    const marker = join(dir, 'never-ran')
    const already = await failure(runShell(`touch ${marker}`, {timeoutMs: 1000, signal: controller.signal}))
    assert.equal(already.reason, 'aborted')
    assert.equal(existsSync(marker), false)
  })

  it('keeps the tail of a large output without killing the command', async () => {
    const result = await runShell('head -c 3000000 /dev/zero | tr "\\0" x; echo; echo END', {timeoutMs: 20_000})
    assert.ok(result.output.length <= 1024 * 1024 + 64 * 1024, `kept ${result.output.length} bytes`)
    assert.ok(result.output.endsWith('\nEND'))
  })

  it('adds env to the environment and runs in cwd', async () => {
    const result = await runShell('echo "$STCONF_EXEC_TEST $PATH"; pwd', {timeoutMs: 10_000, env: {STCONF_EXEC_TEST: 'yes'}, cwd: dir})
    const [line, cwd] = result.output.split('\n')
    assert.match(line, /^yes \S/) // PATH still there: env extends, it does not replace
    assert.equal(cwd, dir)
  })

  it('a command that cannot start is a spawn failure', async () => {
    const error = await failure(runShell('echo hi', {timeoutMs: 10_000, cwd: join(dir, 'missing')}))
    assert.equal(error.reason, 'spawn')
    assert.match(error.message, /could not start/)
  })
})
