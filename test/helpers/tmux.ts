// A real pseudo-terminal for end-to-end tests of `stconf tui`: a tmux server on a private socket,
// the built CLI running in it, the screen read with capture-pane. Tests poll for the expected frame
// (waitUntil), never sleep and assert.
import {execFileSync} from 'node:child_process'
import {BIN, ROOT, waitUntil} from './cli.js'

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

export class TmuxTerminal {
  private readonly socket = `stconf-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

  private constructor() {}

  /**
   * Runs `stconf <args>` in a cols x rows terminal. The shell prints EXITED=<code> after it and
   * stays, so the screen left behind (and the exit code) can be read.
   */
  static start(args: string[], options: {env?: Record<string, string>; cols?: number; rows?: number} = {}): TmuxTerminal {
    const terminal = new TmuxTerminal()
    const env = Object.entries({...options.env, TERM: 'xterm-256color'}).map(([k, v]) => `${k}=${shellQuote(v)}`)
    const command = `cd ${shellQuote(ROOT)} && env ${env.join(' ')} ${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')}; echo EXITED=$?; exec sleep 600`
    terminal.tmux('new-session', '-d', '-s', 'tui', '-x', String(options.cols ?? 120), '-y', String(options.rows ?? 32), command)
    return terminal
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'tui') // -J: a long line wrapped by the terminal reads as one
  }

  /** Waits for a frame matching `pattern`; the last screen is in the error when it never comes. */
  async waitScreen(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    try {
      return await waitUntil(what, () => {
        const screen = this.screen()
        return pattern.test(screen) && screen
      }, timeoutMs)
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- screen ---\n${this.screen()}`)
    }
  }

  /** tmux key names: Tab, BTab (shift+tab), Down, Up, Enter, Escape, C-c, or plain characters. */
  press(...keys: string[]): void {
    for (const key of keys) this.tmux('send-keys', '-t', 'tui', key)
  }

  alternateScreen(): boolean {
    return this.tmux('display-message', '-p', '-t', 'tui', '#{alternate_on}').trim() === '1'
  }

  async exitCode(timeoutMs = 30_000): Promise<number> {
    const screen = await this.waitScreen(/EXITED=\d+/, 'the command to exit', timeoutMs)
    return Number(/EXITED=(\d+)/.exec(screen)![1])
  }

  close(): void {
    try {
      this.tmux('kill-server')
    } catch {
      // already gone
    }
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`
}
