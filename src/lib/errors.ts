// The one error module. Everything stconf throws on purpose is a StconfError: a message an operator
// can act on, a hint, an exit code for the CLI and a status code for the HTTP API. Anything else
// reaching the top is a bug.

export type ErrorCode =
  | 'bad-input' // wrong argument, key, env, file, config
  | 'not-found' // unknown key or version
  | 'conflict' // --expect-version / If-Match not current
  | 'unauthorized' // missing or wrong token
  | 'forbidden' // role too low
  | 'too-large' // over the size limit
  | 'unavailable' // ZooKeeper or the server cannot be reached
  | 'failed' // a check/reload command failed
  | 'not-converged' // instances pending, behind or offline; a --wait that timed out; a dry run that would change files

export const EXIT_CODES: Record<ErrorCode, number> = {
  'bad-input': 2,
  'not-found': 3,
  conflict: 4,
  unauthorized: 5,
  forbidden: 5,
  'too-large': 2,
  unavailable: 6,
  failed: 7,
  'not-converged': 8,
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  'bad-input': 400,
  'not-found': 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  'too-large': 413,
  unavailable: 503,
  failed: 500,
  'not-converged': 409, // not sent by serve today; a fleet state, not a request error
}

export class StconfError extends Error {
  readonly code: ErrorCode
  readonly hint?: string

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message)
    this.name = 'StconfError'
    this.code = code
    this.hint = hint
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }

  get status(): number {
    return HTTP_STATUS[this.code]
  }
}

export const badInput = (message: string, hint?: string) => new StconfError('bad-input', message, hint)
export const notFound = (message: string, hint?: string) => new StconfError('not-found', message, hint)
export const conflict = (message: string, hint?: string) => new StconfError('conflict', message, hint)
export const unavailable = (message: string, hint?: string) => new StconfError('unavailable', message, hint)

export function isStconfError(error: unknown): error is StconfError {
  return error instanceof StconfError
}

/** One line for a terminal: the message, then the hint after " - ". */
export function formatErrorLine(error: unknown): string {
  if (isStconfError(error)) return error.hint ? `${error.message} - ${error.hint}` : error.message
  const message = error instanceof Error ? error.message : String(error)
  return `internal error: ${message} (this is a bug in stconf; please report it)`
}

/** The exit code for any error; 1 for bugs. */
export function exitCodeOf(error: unknown): number {
  return isStconfError(error) ? error.exitCode : 1
}

/** Build a StconfError from an API error body ({error, message, hint?}) and its HTTP status. */
export function fromHttp(status: number, body: {error?: string; message?: string; hint?: string}): StconfError {
  const byStatus = (Object.entries(HTTP_STATUS).find(([, s]) => s === status)?.[0] ?? 'failed') as ErrorCode
  const code = body.error && body.error in HTTP_STATUS ? (body.error as ErrorCode) : byStatus
  return new StconfError(code, body.message ?? `server answered HTTP ${status}`, body.hint)
}
