// API tokens. Stored as sha256 hashes only (tokens are 192-bit random, so a fast hash is enough);
// the clear token is shown once, when it is made.
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {join} from 'node:path'
import type {Low} from 'lowdb'
import {badInput, StconfError} from '../errors.js'
import type {Caller, Role} from './center-types.js'
import {openJson} from './json-file.js'

export const ROLES: Role[] = ['viewer', 'operator', 'admin']
const RANK: Record<Role, number> = {viewer: 0, operator: 1, admin: 2}
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

interface TokenRecord {
  name: string
  role: Role
  hash: string
  created: string
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

  async create(name: string, role: Role): Promise<string> {
    if (!NAME_RE.test(name)) throw badInput(`invalid token name "${name}"`, 'use letters, digits, ".", "_", "@", "-" (at most 64)')
    if (!ROLES.includes(role)) throw badInput(`invalid role "${role}"`, `roles: ${ROLES.join(', ')}`)
    if (this.db.data.tokens.some((t) => t.name === name)) {
      throw new StconfError('conflict', `a token named "${name}" exists already`, 'pick another name, or revoke it first')
    }

    const token = newToken()
    await this.add(name, role, hashToken(token))
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
    return this.db.data.tokens.map(({name, role, created}) => ({name, role, created}))
  }

  authorize(authorization: string | undefined, need: Role): Caller {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
    if (!token) throw new StconfError('unauthorized', 'missing token', 'pass --token or set STCONF_TOKEN')
    const hash = Buffer.from(hashToken(token), 'hex')
    const record = this.db.data.tokens.find((t) => timingSafeEqual(Buffer.from(t.hash, 'hex'), hash))
    if (!record) throw new StconfError('unauthorized', 'invalid token', 'check --token / STCONF_TOKEN')
    if (RANK[record.role] < RANK[need]) {
      throw new StconfError('forbidden', `token "${record.name}" has role ${record.role}; this needs ${need}`, 'ask an admin for a token with that role')
    }

    return {name: record.name, role: record.role}
  }

  private async add(name: string, role: Role, hash: string, replace = false): Promise<void> {
    if (replace) this.db.data.tokens = this.db.data.tokens.filter((t) => t.name !== name)
    this.db.data.tokens.push({name, role, hash, created: new Date().toISOString()})
    await this.db.write()
  }
}

function newToken(): string {
  return `stc_${randomBytes(24).toString('base64url')}`
}
