import type {z} from 'zod'
import {badInput} from '../errors.js'

/** Parse a JSON body (every body arrives as bytes) against a schema; one line on failure. */
export function parseJsonBody<T>(body: unknown, schema: z.ZodType<T>): T {
  let value: unknown
  try {
    value = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '')
  } catch {
    throw badInput('request body is not JSON')
  }

  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw badInput(`invalid request body: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }

  return result.data
}
