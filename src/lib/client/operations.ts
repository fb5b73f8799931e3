// What the operator commands do; they return values and never print.
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {checkSyntax} from '../content-check.js'
import {badInput, StconfError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {validateEnv, validateKey, type VersionMeta} from '../model.js'
import type {ApiClient, PushAnswer} from './api-client.js'

export interface Target {
  env: string
  key: string
}

export function target(env: string, key: string): Target {
  return {env: validateEnv(env), key: validateKey(key)}
}

/** Reads a local file or stdin ("-"); a missing file is a one-line error naming the path. */
export async function readLocal(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer))
    return Buffer.concat(chunks)
  }

  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw badInput(`local file not found: ${resolve(path)}`, 'pass --file <path>, or run from the directory that holds the key\'s path')
    if (code === 'EISDIR') throw badInput(`${resolve(path)} is a directory, not a file`)
    if (code === 'EACCES') throw badInput(`cannot read ${resolve(path)}: permission denied`)
    throw error
  }
}

export async function pushFile(
  client: ApiClient,
  {env, key}: Target,
  options: {file?: string; message?: string; expectVersion?: number; validate: boolean},
): Promise<PushAnswer> {
  const content = await readLocal(options.file ?? key)
  if (options.validate) await checkSyntax(key, content)
  return client.push(env, key, content, options.message ?? '', options.expectVersion)
}

/** Fetches a version and writes it byte-exact (atomically) to `output`, or returns it for stdout. */
export async function pullFile(
  client: ApiClient,
  {env, key}: Target,
  options: {version?: number; output?: string},
): Promise<{meta: VersionMeta; content: Buffer; path?: string}> {
  const {meta, content} = await client.getConfig(env, key, options.version)
  const output = options.output ?? key
  if (output === '-') return {meta, content}
  await writeFileAtomic(output, content)
  return {meta, content, path: resolve(output)}
}

export interface DiffResult {
  equal: boolean
  patch: string
}

export async function unifiedDiff(oldName: string, oldBytes: Buffer, newName: string, newBytes: Buffer): Promise<DiffResult> {
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

export async function diffKey(client: ApiClient, {env, key}: Target, mode: DiffMode): Promise<DiffResult> {
  if (mode.kind === 'versions') {
    const from = await client.getConfig(env, key, mode.from)
    const to = await client.getConfig(env, key, mode.to)
    return unifiedDiff(`${env}/${key}@${from.meta.version}`, from.content, `${env}/${key}@${to.meta.version}`, to.content)
  }

  if (mode.kind === 'envs') {
    const against = validateEnv(mode.against)
    const ours = await client.getConfig(env, key)
    const theirs = await fetchOrEmpty(client, against, key)
    return unifiedDiff(`${env}/${key}@${ours.meta.version}`, ours.content, `${against}/${key}@${theirs.version || 'none'}`, theirs.content)
  }

  const local = await readLocal(mode.file ?? key)
  const center = await fetchOrEmpty(client, env, key)
  return unifiedDiff(`center ${env}/${key}@${center.version || 'none'}`, center.content, `local ${mode.file ?? key}`, local)
}

async function fetchOrEmpty(client: ApiClient, env: string, key: string): Promise<{version: number; content: Buffer}> {
  try {
    const {meta, content} = await client.getConfig(env, key)
    return {version: meta.version, content}
  } catch (error) {
    if (error instanceof StconfError && error.code === 'not-found') return {version: 0, content: Buffer.alloc(0)}
    throw error
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

/** The env, if the center holds keys in it; else a one-line not-found naming the envs it has. */
export async function requireEnv(client: ApiClient, env: string): Promise<string> {
  validateEnv(env)
  const envs = await client.envs()
  if (envs.includes(env)) return env
  const hint = envs.length > 0 ? `known envs: ${envs.join(', ')}; pick one with --env` : `push a key first: stconf push <key> --env ${env}`
  throw new StconfError('not-found', `no env "${env}" on ${client.server}`, hint)
}
