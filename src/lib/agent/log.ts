// The agent's event log: one line per event, text for people or JSON for machines. Streams are
// injected, so src/lib still never prints on its own.
import type {Logger} from './types.js'

export type LogFormat = 'text' | 'json'

interface Writable {
  write(chunk: string): unknown
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text
}

export function createLogger(format: LogFormat, out: Writable, err: Writable, now: () => Date = () => new Date()): Logger {
  const write = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) => {
    const stream = level === 'info' ? out : err
    if (format === 'json') {
      stream.write(JSON.stringify({time: now().toISOString(), level, msg: message, ...fields}) + '\n')
      return
    }

    const extra = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}=${formatValue(value)}`)
      .join(' ')
    stream.write(`${now().toISOString()} ${level.padEnd(5)} ${message}${extra ? ' ' + extra : ''}\n`)
  }

  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  }
}
