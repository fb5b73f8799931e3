// What arrives in a request, checked against its schema in the API contract (api/contract.ts): one
// line naming the first problem, as a 400 bad-input with the usual JSON error body.
import {check} from '../api/contract.js'
import type {z} from 'zod/mini'
import {badInput} from '../errors.js'

/** Parse a JSON body (every body arrives as bytes) against a schema; one line on failure. */
export function parseJsonBody<T>(body: unknown, schema: z.core.$ZodType<T>): T {
  let value: unknown
  try {
    value = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '')
  } catch {
    throw badInput('request body is not JSON')
  }

  const checked = check(schema, value)
  if (!checked.ok) throw badInput(`invalid request body: ${checked.problem}`)
  return checked.value
}

/** The query string's parameters (fastify's parse: a string, or an array when repeated) against a schema. */
export function parseQuery<T>(query: unknown, schema: z.core.$ZodType<T>): T {
  const checked = check(schema, query ?? {})
  if (!checked.ok) throw badInput(`invalid query parameter ${checked.problem}`, 'give each parameter once')
  return checked.value
}
