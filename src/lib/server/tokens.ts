// API tokens. Stored as sha256 hashes only (tokens are 192-bit random, so a fast hash is enough);
// the clear token is shown once, when it is made.
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {join} from 'node:path'
import type {Low} from 'lowdb'
import {badInput, StconfError} from '../errors.js'
import {validateEnv} from '../model.js'
import type {Action, Caller, Role, Target, TokenScope} from './center-types.js'
import {openJson} from './json-file.js'

export const ROLES: Role[] = ['viewer', 'agent', 'operator', 'admin']
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/
const HOST_PATTERN_RE = /^[A-Za-z0-9*?][A-Za-z0-9*?._-]{0,127}$/

/**
 * Who may do what. Not a ladder: `agent` (http-source agents, the SDK) reads configs and reports, but
 * sees no history, status or audit; `viewer` sees all of that but may not report (forged receipts).
 */
const ALLOWED: Record<Action, {roles: Role[]; doing: string}> = {
  read: {roles: ['viewer', 'agent', 'operator', 'admin'], doing: 'read configs'},
  view: {roles: ['viewer', 'operator', 'admin'], doing: 'read history, status or audit'},
  report: {roles: ['agent', 'operator', 'admin'], doing: 'write instance reports'},
  write: {roles: ['operator', 'admin'], doing: 'push or roll back'},
  admin: {roles: ['admin'], doing: 'manage tokens'},
}

/** A stored token; `envs` and `hosts` came later, so records without them (all envs, all hosts) stay valid. */
interface TokenRecord extends TokenScope {
  name: string
  role: Role
  hash: string
  created: string
}

/** A host pattern: `*` any run of characters, `?` one. The host part of an instance name (before `@`) is matched. */
export function matchesHost(patterns: string[], instance: string): boolean {
  const host = instance.split('@')[0]
  return patterns.some((pattern) => new RegExp(`^${pattern.replaceAll('.', '\\.').replaceAll('*', '.*').replaceAll('?', '.')}$`).test(host))
}

const orList = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : items[0])

function validateScope(role: Role, scope: TokenScope): TokenScope {
  const envs = scope.envs?.length ? [...new Set(scope.envs.map((env) => validateEnv(env)))] : undefined
  const hosts = scope.hosts?.length ? [...new Set(scope.hosts)] : undefined
  if (envs && role === 'admin') throw badInput('an admin token cannot be scoped to envs', 'it manages tokens for every env; scope operator, viewer or agent tokens')
  for (const pattern of hosts ?? []) {
    if (!HOST_PATTERN_RE.test(pattern)) throw badInput(`invalid host pattern "${pattern}"`, 'letters, digits, ".", "_", "-", with * and ? as wildcards, e.g. gs-*')
  }

  if (hosts && role !== 'agent') throw badInput('--hosts is for tokens of role agent', 'it limits which hosts a token may report for')
  return {...(envs ? {envs} : {}), ...(hosts ? {hosts} : {})}
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

export class TokenStore {
  private constructor(private readonly db: Low<{tokens: TokenRecord[]}>) {}

  static async open(dataDir: string): Promise<TokenStore> {
    return new TokenStore(await openJson(join(dataDir, 'tokens.json'), {tokens: [] as TokenRecord[]}))
  }

  get empty(): boolean {
    return this.db.data.tokens.length === 0
  }

  /** First start: make the admin token (or take STCONF_ADMIN_TOKEN). Returns a new clear token to print once. */
  async bootstrap(envToken?: string): Promise<string | undefined> {
    if (envToken) {
      if (envToken.length < 16) throw badInput('STCONF_ADMIN_TOKEN is too short', 'use at least 16 characters')
      const hash = hashToken(envToken)
      if (!this.db.data.tokens.some((t) => t.hash === hash)) await this.add('admin', 'admin', hash, true)
      return undefined
    }

    if (!this.empty) return undefined
    const token = newToken()
    await this.add('admin', 'admin', hashToken(token))
    return token
  }

  async create(name: string, role: Role, scope: TokenScope = {}): Promise<string> {
    if (!NAME_RE.test(name)) throw badInput(`invalid token name "${name}"`, 'use letters, digits, ".", "_", "@", "-" (at most 64)')
    if (!ROLES.includes(role)) throw badInput(`invalid role "${role}"`, `roles: ${ROLES.join(', ')}`)
    const limits = validateScope(role, scope)
    if (this.db.data.tokens.some((t) => t.name === name)) {
      throw new StconfError('conflict', `a token named "${name}" exists already`, 'pick another name, or revoke it first')
    }

    const token = newToken()
    await this.add(name, role, hashToken(token), false, limits)
    return token
  }

  async revoke(name: string): Promise<void> {
    const record = this.db.data.tokens.find((t) => t.name === name)
    if (!record) throw new StconfError('not-found', `no token named "${name}"`)
    // Without an admin token nobody can make tokens again: that is a lock-out for good.
    if (record.role === 'admin' && this.db.data.tokens.filter((t) => t.role === 'admin').length === 1) {
      throw new StconfError('conflict', `"${name}" is the last admin token; revoking it would lock everyone out`, 'create another admin token first: stconf token create <name> --role admin')
    }

    this.db.data.tokens = this.db.data.tokens.filter((t) => t.name !== name)
    await this.db.write()
  }

  list(): Array<Omit<TokenRecord, 'hash'>> {
    return this.db.data.tokens.map(({name, role, created, envs, hosts}) => ({name, role, created, ...(envs ? {envs} : {}), ...(hosts ? {hosts} : {})}))
  }

  authorize(authorization: string | undefined, action: Action, target: Target = {}): Caller {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
    if (!token) throw new StconfError('unauthorized', 'missing token', 'pass --token or set STCONF_TOKEN')
    const hash = Buffer.from(hashToken(token), 'hex')
    const record = this.db.data.tokens.find((t) => timingSafeEqual(Buffer.from(t.hash, 'hex'), hash))
    if (!record) throw new StconfError('unauthorized', 'invalid token', 'check --token / STCONF_TOKEN')
    const allowed = ALLOWED[action]
    if (!allowed.roles.includes(record.role)) {
      throw new StconfError(
        'forbidden',
        `token "${record.name}" has role ${record.role}; this needs ${orList(allowed.roles)} (to ${allowed.doing})`,
        'ask an admin for a token with that role',
      )
    }

    if (target.env !== undefined && record.envs && !record.envs.includes(target.env)) {
      throw new StconfError('forbidden', `token "${record.name}" is scoped to env ${record.envs.join(', ')}, not ${target.env}`, `use a token for env ${target.env}`)
    }

    if (action === 'report' && target.host !== undefined && record.hosts && !matchesHost(record.hosts, target.host)) {
      throw new StconfError('forbidden', `token "${record.name}" may report only for hosts ${record.hosts.join(', ')}, not ${target.host}`, 'use a token whose --hosts covers this host')
    }

    return {name: record.name, role: record.role, ...(record.envs ? {envs: record.envs} : {}), ...(record.hosts ? {hosts: record.hosts} : {})}
  }

  private async add(name: string, role: Role, hash: string, replace = false, scope: TokenScope = {}): Promise<void> {
    if (replace) this.db.data.tokens = this.db.data.tokens.filter((t) => t.name !== name)
    this.db.data.tokens.push({name, role, hash, created: new Date().toISOString(), ...scope})
    await this.db.write()
  }
}

function newToken(): string {
  return `stc_${randomBytes(24).toString('base64url')}`
}
