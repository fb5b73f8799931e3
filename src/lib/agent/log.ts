// The agent's event log: one line per event, text for people or JSON for machines. Streams are
// injected, so src/lib still never prints on its own.
import {colorDiff} from './file-diff.js'
import type {Logger, LogText} from './types.js'

export type LogFormat = 'text' | 'json'

interface Writable {
  write(chunk: string): unknown
  isTTY?: boolean
}

export interface LoggerOptions {
  now?: () => Date
  /** colour diffs when the stream is a terminal (false: never, e.g. NO_COLOR) */
  color?: boolean
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text
}

export function createLogger(format: LogFormat, out: Writable, err: Writable, options: LoggerOptions = {}): Logger {
  const now = options.now ?? (() => new Date())
  const write = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}, text?: LogText) => {
    const stream = level === 'info' ? out : err
    if (format === 'json') {
      stream.write(JSON.stringify({time: now().toISOString(), level, msg: message, ...fields}) + '\n')
      return
    }

    const head = `${now().toISOString()} ${level.padEnd(5)} `
    if (text) {
      let diff = text.diff?.replace(/\n$/, '') ?? ''
      if (diff && options.color !== false && stream.isTTY === true) diff = colorDiff(diff)
      stream.write(`${head}${text.line}\n${diff ? diff + '\n' : ''}`)
      return
    }

    const extra = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}=${formatValue(value)}`)
      .join(' ')
    stream.write(`${head}${message}${extra ? ' ' + extra : ''}\n`)
  }

  return {
    info: (message, fields, text) => write('info', message, fields, text),
    warn: (message, fields, text) => write('warn', message, fields, text),
    error: (message, fields, text) => write('error', message, fields, text),
  }
}
