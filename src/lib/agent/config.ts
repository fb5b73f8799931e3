// The agent's config file: YAML (or JSON, which YAML reads too), validated on load. Every mistake
// becomes one line naming the field, so an operator fixes them all in one go.
import {readFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {isAbsolute, normalize} from 'node:path'
import {parse as parseYaml} from 'yaml'
// zod/mini, not zod: its functions tree-shake, and the full zod (every locale's messages, 1.3 MB of
// source text held in the agent's heap for as long as it runs) was here only for this one file. Every
// message below is our own, so zod/mini's lack of English ones does not show.
import * as z from 'zod/mini'
import {parseDuration} from '../duration.js'
import {badInput, isStconfError} from '../errors.js'
import {fileError} from '../fs-errors.js'
import {APP_RE, formatInstanceName, HOST_RE, validateEnv, validateKey} from '../model.js'

export type SourceSpec =
  | {kind: 'zk'; connect: string; root: string; url: string}
  | {kind: 'http'; url: string}

export interface FileSpec {
  key: string
  dest: string
  /** undefined: keep the old file's mode, else 0644 */
  mode?: number
  check?: string
  reload?: string
  reloadTimeoutMs: number
  waitMs: number
  /** log the unified diff of each applied change (off when absent: config files can hold secrets) */
  logDiff?: boolean
}

export interface AgentConfig {
  source: SourceSpec
  env: string
  host: string
  /** set on the rare host with a second agent: the instance is then <host>@<app> */
  app?: string
  /** the name this agent reports under: <host> or <host>@<app> */
  instance: string
  token?: string
  /** the machine identity for ZooKeeper, user:password (zkAuth, else $STCONF_ZK_AUTH) */
  zkAuth?: string
  cacheDir: string
  pollIntervalMs: number
  /** ZooKeeper session timeout (zk source) */
  sessionTimeoutMs: number
  files: FileSpec[]
}

export {parseDuration}

/** zk://h1:2181,h2:2181/root or http(s)://host:port[/prefix] */
export function parseSource(raw: string): SourceSpec | string {
  if (raw.startsWith('zk://')) {
    const rest = raw.slice('zk://'.length)
    const slash = rest.indexOf('/')
    const connect = slash === -1 ? rest : rest.slice(0, slash)
    const root = slash === -1 ? '/stconf' : rest.slice(slash).replace(/\/+$/, '') || '/stconf'
    if (!/^[^,/\s]+:\d+(,[^,/\s]+:\d+)*$/.test(connect)) return 'expected zk://host:port[,host:port...]/root'
    return {kind: 'zk', connect, root, url: raw}
  }

  if (/^https?:\/\//.test(raw)) {
    try {
      const url = new URL(raw)
      return {kind: 'http', url: url.toString().replace(/\/+$/, '')}
    } catch {
      return 'not a valid URL'
    }
  }

  return 'expected zk://host:port[,host:port...]/root or http(s)://server:port'
}

// A transform's failure: one issue with our message (zod/mini's transforms have no ctx.addIssue).
function fail(ctx: z.core.ParsePayload, input: unknown, message: string): never {
  ctx.issues.push({code: 'custom', message, input})
  return z.NEVER
}

/** The error a validator from model.ts throws, as the field's issue. */
const validatedBy = (validate: (value: string) => unknown) =>
  z.superRefine((value: string, ctx) => {
    try {
      validate(value)
    } catch (error) {
      ctx.addIssue({code: 'custom', message: (error as Error).message})
    }
  })

const duration = (what: string) =>
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((value: string | number, ctx) => {
      const ms = parseDuration(value)
      if (ms === undefined) return fail(ctx, value, `"${value}" is not a duration (like 500ms, 2s, 1m)`)
      if (what === 'positive' && ms === 0) return fail(ctx, value, 'must be more than 0')
      return ms
    }),
  )

const nonEmpty = z.string().check(z.trim(), z.minLength(1, 'must not be empty'))
const absolutePath = z.string().check(z.refine((path: string) => isAbsolute(path), 'must be an absolute path'))

const fileSchema = z.strictObject({
  key: z.string().check(validatedBy(validateKey)),
  dest: absolutePath,
  mode: z.pipe(
    z.optional(z.union([z.string(), z.number()])),
    z.transform((value: string | number | undefined, ctx) => {
      if (value === undefined) return undefined
      // A YAML 0644 without quotes is read as the decimal 644: accept it as the octal it looks like.
      const text = String(value)
      if (!/^0?[0-7]{3,4}$/.test(text)) return fail(ctx, value, `"${text}" is not an octal file mode (like "0644")`)
      return Number.parseInt(text, 8)
    }),
  ),
  check: z.optional(nonEmpty),
  reload: z.optional(nonEmpty),
  reloadTimeout: z.optional(duration('positive')),
  wait: z.optional(duration('any')),
  logDiff: z.optional(z.boolean()),
})

const configSchema = z.strictObject({
  source: z.pipe(
    z.string(),
    z.transform((value: string, ctx) => {
      const parsed = parseSource(value)
      return typeof parsed === 'string' ? fail(ctx, value, `"${value}": ${parsed}`) : parsed
    }),
  ),
  env: z.string().check(validatedBy(validateEnv)),
  host: z.optional(z.string().check(z.regex(HOST_RE, 'must be 1-128 characters: letters, digits, ".", "_", "-"'))),
  app: z.optional(z.string().check(z.regex(APP_RE, 'must be 1-64 letters, digits, "_", "-", optionally followed by .<n> (like game or game.2)'))),
  token: z.optional(nonEmpty),
  zkAuth: z.optional(nonEmpty),
  cacheDir: absolutePath,
  pollInterval: z.optional(duration('positive')),
  sessionTimeout: z.optional(duration('positive')),
  files: z.array(fileSchema).check(z.minLength(1, 'list at least one file')),
})

function fieldName(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part)
  return out || '(top level)'
}

const DIGEST_AUTH_RE = /^[^:]+:.+$/

/**
 * Validate parsed YAML/JSON; throws one bad-input error whose message has one line per mistake.
 * `env` supplies STCONF_ZK_AUTH (a secret is often kept out of the file, in the service's environment).
 */
export function validateAgentConfig(raw: unknown, origin = 'agent config', env: Record<string, string | undefined> = {}): AgentConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badInput(`${origin}: expected a mapping of settings (source, env, cacheDir, files, ...)`)
  }

  // reportInput: zod 4 leaves `input` off issues otherwise, and a wrong type would read "is required"
  const result = configSchema.safeParse(raw, {reportInput: true})
  const problems: string[] = []
  if (!result.success) {
    for (const issue of result.error.issues) {
      let message = issue.message
      if (issue.code === 'invalid_type') message = (issue.input === undefined ? 'is required' : `must be ${issue.expected}`)
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push(`${origin}: ${fieldName([...issue.path, key])}: unknown field`)
        continue
      }

      problems.push(`${origin}: ${fieldName(issue.path)}: ${message}`)
    }
  }

  if (result.success) {
    const seen = new Map<string, number>()
    result.data.files.forEach((file, index) => {
      const dest = normalize(file.dest)
      const first = seen.get(dest)
      if (first !== undefined) problems.push(`${origin}: files[${index}].dest: "${file.dest}" is also the dest of files[${first}]`)
      else seen.set(dest, index)
    })
    if (result.data.source.kind === 'http' && !result.data.token) {
      problems.push(`${origin}: token: is required for an http source (a token of role agent)`)
    }

    const zkAuth = result.data.zkAuth ?? (env.STCONF_ZK_AUTH || undefined)
    const field = result.data.zkAuth === undefined ? 'STCONF_ZK_AUTH' : `${origin}: zkAuth`
    if (zkAuth !== undefined && result.data.source.kind === 'zk' && !DIGEST_AUTH_RE.test(zkAuth)) problems.push(`${field}: must be user:password (the identity of serve's --zk-agent-auth)`)
    if (result.data.zkAuth !== undefined && result.data.source.kind !== 'zk') {
      problems.push(`${origin}: zkAuth: only a zk:// source uses it (an http source authenticates with token)`)
    }
  }

  if (problems.length > 0 || !result.success) throw badInput(problems.join('\n'))
  const data = result.data
  const host = data.host ?? hostname()
  return {
    source: data.source,
    env: data.env,
    host,
    ...(data.app ? {app: data.app} : {}),
    instance: formatInstanceName(host, data.app),
    token: data.token,
    zkAuth: data.source.kind === 'zk' ? (data.zkAuth ?? (env.STCONF_ZK_AUTH || undefined)) : undefined,
    cacheDir: normalize(data.cacheDir),
    pollIntervalMs: data.pollInterval ?? 2000,
    sessionTimeoutMs: data.sessionTimeout ?? 10_000,
    files: data.files.map((file) => ({
      key: file.key,
      dest: normalize(file.dest),
      mode: file.mode,
      check: file.check,
      reload: file.reload,
      reloadTimeoutMs: file.reloadTimeout ?? 30_000,
      waitMs: file.wait ?? 0,
      logDiff: file.logDiff ?? false,
    })),
  }
}

export function parseAgentConfig(text: string, origin = 'agent config', env: Record<string, string | undefined> = {}): AgentConfig {
  let raw: unknown
  try {
    raw = parseYaml(text, {prettyErrors: false})
  } catch (error) {
    const first = (error as Error).message.split('\n')[0]
    throw badInput(`${origin}: not valid YAML or JSON: ${first}`)
  }

  return validateAgentConfig(raw, origin, env)
}

export async function loadAgentConfig(path: string, env: Record<string, string | undefined> = process.env): Promise<AgentConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const hint = 'pass the agent config with --config (docs/agent.md shows one)'
    const described = fileError(error, 'read', path, hint)
    throw isStconfError(described) ? described : badInput(`cannot read agent config ${path}: ${(error as Error).message}`, hint)
  }

  return parseAgentConfig(text, path, env)
}
