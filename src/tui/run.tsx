// Opens the dashboard on the terminal: the alternate screen while it runs, the old screen back on
// quit, Ctrl-C, SIGTERM/SIGHUP and on a crash (the process 'exit' hook catches what the rest misses).
import {render} from 'ink'
import type {ApiClient} from '../lib/client/api-client.js'
import {App} from './app.js'
import type {EarlyFeed} from './feed.js'

export interface RunOptions {
  client: ApiClient
  env: string
  colors: boolean
  /** the feed the command opened before importing this (EarlyFeed) */
  feed?: EarlyFeed
  stdin?: NodeJS.ReadStream
  stdout?: NodeJS.WriteStream
}

const ENTER_ALT = '\u001b[?1049h\u001b[H'
const LEAVE_ALT = '\u001b[?25h\u001b[?1049l'

export async function runTui({client, env, colors, feed, stdin = process.stdin, stdout = process.stdout}: RunOptions): Promise<void> {
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    stdout.write(LEAVE_ALT)
  }

  stdout.write(ENTER_ALT)
  process.once('exit', restore)
  const instance = render(<App client={client} env={env} colors={colors} feed={feed} />, {stdin, stdout, exitOnCtrlC: false, patchConsole: false, maxFps: 60})
  const stop = () => instance.unmount()
  process.once('SIGTERM', stop)
  process.once('SIGHUP', stop)
  try {
    await instance.waitUntilExit()
  } finally {
    feed?.stop()
    process.off('SIGTERM', stop)
    process.off('SIGHUP', stop)
    instance.cleanup()
    restore()
    process.off('exit', restore)
  }
}
