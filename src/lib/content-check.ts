// Syntax checks run by `stconf push` before anything leaves the operator's machine.
// JSON, YAML and TOML use real parsers; INI and .properties have no strict parser worth the name
// (the `ini` package accepts anything), so their few hard rules are checked here.
import {extname} from 'node:path'
import {badInput} from './errors.js'

export const CHECKED_EXTENSIONS = ['.json', '.yaml', '.yml', '.ini', '.toml', '.properties']

/** Throws a one-line error naming the file, the format and where it broke; unknown types pass. */
export async function checkSyntax(key: string, content: Buffer): Promise<void> {
  const ext = extname(key).toLowerCase()
  if (!CHECKED_EXTENSIONS.includes(ext)) return
  const text = content.toString('utf8').replace(/^\uFEFF/, '')
  const fail = (what: string) => {
    throw badInput(`${key} is not valid ${ext.slice(1).toUpperCase()}: ${what}`, 'fix it, or push with --no-validate')
  }

  switch (ext) {
    case '.json':
      try {
        JSON.parse(text)
      } catch (error) {
        fail((error as Error).message)
      }

      break
    case '.yaml':
    case '.yml': {
      const {parseAllDocuments} = await import('yaml')
      for (const doc of parseAllDocuments(text)) {
        const error = doc.errors[0]
        if (error) fail(error.message.split('\n')[0])
      }

      break
    }

    case '.toml': {
      const {parse} = await import('smol-toml')
      try {
        parse(text)
      } catch (error) {
        fail((error as Error).message.split('\n')[0])
      }

      break
    }

    case '.ini':
      checkIni(text, fail)
      break
    case '.properties':
      checkProperties(text, fail)
      break
  }
}

function checkIni(text: string, fail: (what: string) => never): void {
  const lines = text.split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue
    if (line.startsWith('[')) {
      if (!/^\[[^\][]+\]\s*([;#].*)?$/.test(line)) fail(`line ${i + 1}: malformed section header "${line}"`)
      continue
    }

    // key = value, key: value, or a bare key (a flag); a line starting with "=" has no key.
    if (/^[=:]/.test(line)) fail(`line ${i + 1}: "${line}" has no key before "${line[0]}"`)
    if (line.includes(']') && !line.includes('=') && !line.includes(':')) fail(`line ${i + 1}: stray "]" in "${line}"`)
  }
}

function checkProperties(text: string, fail: (what: string) => never): void {
  const lines = text.split(/\r?\n/)
  for (const [i, line] of lines.entries()) {
    const bad = /\\u(?![0-9a-fA-F]{4})/.exec(line)
    if (bad) fail(`line ${i + 1}: malformed \\uXXXX escape`)
  }
}
