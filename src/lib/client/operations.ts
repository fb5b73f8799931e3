// What the operator commands do; they return values and never print.
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {checkSyntax} from '../content-check.js'
import {badInput, conflict, isStconfError, notFound, StconfError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {fileError} from '../fs-errors.js'
import {sha256, validateEnv, validateKey, type VersionMeta} from '../model.js'
import {closest} from '../suggest.js'
import type {ContentMeta, DiffResult, DiffSide} from '../api/contract.js'
import type {ApiClient, AuditEntry, AuditFilter, EnvEntry, KeyEntry, PushAnswer} from './api-client.js'

export interface Target {
  env: string
  key: string
}

export function target(env: string, key: string): Target {
  return {env: validateEnv(env), key: validateKey(key)}
}

/** Reads a local file or stdin ("-"); a failure is a one-line error naming the path. */
export async function readLocal(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer))
    return Buffer.concat(chunks)
  }

  try {
    return await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw badInput(`local file not found: ${resolve(path)}`, 'pass --file <path>, or run from the directory that holds the key\'s path')
    }

    throw fileError(error, 'read', path)
  }
}

/**
 * Throws 'not-found' naming the known envs (and the closest one) unless `env` has had a key. Reading
 * commands call it only once they found nothing, so a typo costs one request and success none.
 */
export async function assertKnownEnv(client: ApiClient, env: string): Promise<void> {
  const envs = (await client.envs()).map((e) => e.env)
  if (envs.includes(env)) return
  if (envs.length === 0) throw notFound(`no env ${env}`, 'no env has a key yet; `stconf push <key> --env <env>` makes one')
  const near = closest(env, envs)
  throw notFound(`no env ${env}`, `envs: ${envs.join(', ')}${near ? `; did you mean ${near}?` : ''}`)
}

/** Runs a read; when it finds nothing, an unknown env is the better error. */
async function inKnownEnv<T>(client: ApiClient, env: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (isStconfError(error) && error.code === 'not-found') await assertKnownEnv(client, env)
    throw error
  }
}

export async function listKeys(client: ApiClient, env: string, app?: string): Promise<KeyEntry[]> {
  const keys = await client.keys(validateEnv(env), app)
  if (keys.length === 0) await assertKnownEnv(client, env)
  return keys
}

export async function keyHistory(client: ApiClient, {env, key}: Target, limit?: number): Promise<VersionMeta[]> {
  return inKnownEnv(client, env, () => client.history(env, key, limit))
}

/** The audit log; `--env` of an env that never had a key is a typo, not an empty log. */
export async function readAudit(client: ApiClient, filter: AuditFilter): Promise<AuditEntry[]> {
  const entries = await client.audit(filter)
  if (entries.length === 0 && filter.env !== undefined) await assertKnownEnv(client, filter.env)
  return entries
}

export interface EnvSummary extends EnvEntry {
  /** instances (agents) that report for the env */
  instances: number
}

export async function listEnvs(client: ApiClient): Promise<EnvSummary[]> {
  const envs = await client.envs()
  return Promise.all(envs.map(async (entry) => ({...entry, instances: await client.instanceCount(entry.env)})))
}

export async function pushFile(
  client: ApiClient,
  {env, key}: Target,
  options: {file?: string; message?: string; expectVersion?: number; validate: boolean; allowEmpty?: boolean},
): Promise<PushAnswer> {
  const file = options.file ?? key
  const content = await readLocal(file)
  if (content.length === 0 && !options.allowEmpty) {
    // An empty render after a lost state took services down elsewhere (consul-template #727).
    throw badInput(`${file === '-' ? 'stdin' : resolve(file)} is empty (0 bytes)`, 'an empty config is usually a failed render or a truncated file; pass --allow-empty if you mean it')
  }

  if (options.validate) await checkSyntax(key, content)
  return client.push(env, key, content, options.message ?? '', options.expectVersion)
}

/**
 * Fetches a version and writes it byte-exact (atomically) to `output`, or returns it for stdout.
 * A local file whose bytes are none of the key's versions holds edits: kept unless `force`.
 */
export async function pullFile(
  client: ApiClient,
  {env, key}: Target,
  options: {version?: number; output?: string; force?: boolean},
): Promise<{meta: ContentMeta; content: Buffer; path?: string}> {
  const {meta, content} = await inKnownEnv(client, env, () => client.getConfig(env, key, options.version))
  const output = options.output ?? key
  if (output === '-') return {meta, content}
  if (!options.force) await refuseLocalEdits(client, {env, key}, output, {meta, content})
  try {
    await writeFileAtomic(output, content)
  } catch (error) {
    throw fileError(error, 'write', output)
  }

  return {meta, content, path: resolve(output)}
}

async function refuseLocalEdits(client: ApiClient, {env, key}: Target, output: string, pulled: {meta: ContentMeta; content: Buffer}): Promise<void> {
  let local: Buffer
  try {
    local = await readFile(output)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw fileError(error, 'write', output) // what cannot be read here cannot be written either
  }

  if (local.equals(pulled.content)) return
  const hash = sha256(local)
  const versions = await client.history(env, key, 1_000_000)
  if (versions.some((v) => v.sha256 === hash)) return // an older pull: nothing of the operator's is lost
  const lines = await differingLines(pulled.content, local)
  const fileFlag = output === key ? '' : ` --file ${output}`
  throw conflict(
    `${resolve(output)} has local edits: it matches no version of ${env}/${key}, and ${lines} ${lines === 1 ? 'line differs' : 'lines differ'} from version ${pulled.meta.version}`,
    `see them with \`stconf diff ${key} --env ${env}${fileFlag}\`, or overwrite them with --force`,
  )
}

/** Lines that differ; a changed line counts once (not as one removed plus one added). */
async function differingLines(a: Buffer, b: Buffer): Promise<number> {
  const {diffLines} = await import('diff')
  const parts = diffLines(a.toString('utf8'), b.toString('utf8'))
  let count = 0
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    if (!part.added && !part.removed) continue
    const next = parts[i + 1]
    if (part.removed && next?.added) {
      count += Math.max(part.count ?? 0, next.count ?? 0)
      i++
    } else {
      count += part.count ?? 0
    }
  }

  return Math.max(count, 1) // bytes differ even when no line does (line endings, a final newline)
}

export type {DiffResult} from '../api/contract.js'

export async function unifiedDiff(oldName: string, oldBytes: Buffer, newName: string, newBytes: Buffer): Promise<{equal: boolean; patch: string}> {
  if (oldBytes.equals(newBytes)) return {equal: true, patch: ''}
  const {createTwoFilesPatch} = await import('diff')
  const patch = createTwoFilesPatch(oldName, newName, oldBytes.toString('utf8'), newBytes.toString('utf8'), '', '', {context: 3})
  // Bytes differ only in what text cannot show (encoding, BOM, line endings): say so plainly.
  const hunks = patch.split('\n').filter((line) => line.startsWith('@@'))
  return {equal: false, patch: hunks.length > 0 ? patch : `Binary or encoding-only difference between ${oldName} and ${newName}\n`}
}

export type DiffMode =
  | {kind: 'local'; file?: string}
  | {kind: 'versions'; from: number; to?: number}
  | {kind: 'envs'; against: string}

/** The diff of two sides of a key (the center is the "-" side); `--json` prints it as it is. */
export async function diffKey(client: ApiClient, {env, key}: Target, mode: DiffMode): Promise<DiffResult> {
  const inCenter = (inEnv: string, version: number): DiffSide => ({kind: 'center', env: inEnv, key, version: version || null})
  if (mode.kind === 'versions') {
    const from = await inKnownEnv(client, env, () => client.getConfig(env, key, mode.from))
    const to = await client.getConfig(env, key, mode.to)
    const diff = await unifiedDiff(`${env}/${key}@${from.meta.version}`, from.content, `${env}/${key}@${to.meta.version}`, to.content)
    return {...diff, from: inCenter(env, from.meta.version), to: inCenter(env, to.meta.version)}
  }

  if (mode.kind === 'envs') {
    const against = validateEnv(mode.against)
    const ours = await inKnownEnv(client, env, () => client.getConfig(env, key))
    const theirs = await fetchOrEmpty(client, against, key)
    const diff = await unifiedDiff(`${env}/${key}@${ours.meta.version}`, ours.content, `${against}/${key}@${theirs.version || 'none'}`, theirs.content)
    return {...diff, from: inCenter(env, ours.meta.version), to: inCenter(against, theirs.version)}
  }

  const file = mode.file ?? key
  const local = await readLocal(file)
  const center = await fetchOrEmpty(client, env, key)
  const diff = await unifiedDiff(`center ${env}/${key}@${center.version || 'none'}`, center.content, `local ${file}`, local)
  return {...diff, from: inCenter(env, center.version), to: {kind: 'local', path: file === '-' ? '-' : resolve(file)}}
}

async function fetchOrEmpty(client: ApiClient, env: string, key: string): Promise<{version: number; content: Buffer}> {
  try {
    const {meta, content} = await client.getConfig(env, key)
    return {version: meta.version, content}
  } catch (error) {
    if (!(error instanceof StconfError && error.code === 'not-found')) throw error
    await assertKnownEnv(client, env) // a new key of a known env diffs as empty; an unknown env is a typo
    return {version: 0, content: Buffer.alloc(0)}
  }
}

/** A repeatable flag whose values may also be comma lists: ["prod,staging", "dev"] -> [prod, staging, dev]; none -> undefined. */
export function splitList(values: string[] | undefined): string[] | undefined {
  const items = (values ?? []).flatMap((value) => value.split(',')).map((item) => item.trim()).filter(Boolean)
  return items.length > 0 ? items : undefined
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

/** The env, if the center holds keys in it; else the one-line not-found of assertKnownEnv. */
export async function requireEnv(client: ApiClient, env: string): Promise<string> {
  validateEnv(env)
  await assertKnownEnv(client, env)
  return env
}
