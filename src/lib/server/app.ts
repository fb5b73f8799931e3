// HTTP API of `stconf serve` (documented in docs/api.md; its shapes are api/contract.ts). Routes
// check what arrives against the contract's schemas and translate HTTP to Center calls; every error
// leaves as JSON {error, message, hint?} with a proper status code.
import Fastify, {type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'
import {
  auditQuery,
  configQuery,
  historyQuery,
  keysQuery,
  rollbackRequest,
  tokenCreateRequest,
  type AuditAnswer,
  type CreatedToken,
  type EnvsAnswer,
  type ErrorBody,
  type HealthAnswer,
  type HistoryAnswer,
  type KeysAnswer,
  type PushAnswer,
  type RevokeAnswer,
  type TokensAnswer,
} from '../api/contract.js'
import {decodeText, MESSAGE_HEADER, metaHeaders} from '../api/wire.js'
import {badInput, isStconfError, StconfError} from '../errors.js'
import {checkSize, formatBytes, parseVersion, validateEnv, validateKey, type VersionMeta} from '../model.js'
import {registerAgentRoutes} from './agent-routes.js'
import type {EventHub} from './event-hub.js'
import {registerEventRoutes} from './events-routes.js'
import {registerInstanceRoutes} from './instance-routes.js'
import type {InstanceRegistry} from './instance-registry.js'
import {parseJsonBody, parseQuery} from './json-body.js'
import type {Center} from './center.js'
import type {RouteContext} from './center-types.js'
import type {AuditQuery, AuditStore} from './storage-types.js'
import type {TokenStore} from './tokens.js'

export interface AppOptions {
  center: Center
  tokens: TokenStore
  audit: AuditStore
  maxBytes: number
  dataDir: string
  instances: InstanceRegistry
  /** the live feed; serve.ts publishes changes, audit entries and instance changes to it */
  hub: EventHub
  /** ZooKeeper mode: its connection state, for /healthz */
  zk?: {connected: boolean}
}

type KeyParams = {env: string; '*': string}

function target(params: KeyParams): {env: string; key: string} {
  return {env: validateEnv(params.env), key: validateKey(params['*'])}
}

function sendContent(reply: FastifyReply, meta: VersionMeta, content: Buffer): FastifyReply {
  return reply.header('content-type', 'application/octet-stream').headers(metaHeaders(meta)).send(content)
}

const errorBody = (code: string, message: string, hint?: string): ErrorBody => ({error: code, message, ...(hint ? {hint} : {})})

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const {center, tokens, audit, maxBytes} = options
  const app = Fastify({logger: false, bodyLimit: maxBytes + 64 * 1024, return503OnClosing: true})

  // Every body is bytes: config content must never be decoded, and JSON bodies are parsed per route.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', {parseAs: 'buffer'}, (_request, body, done) => done(null, body))

  const authorize: RouteContext['authorize'] = (headers, action, target) => tokens.authorize(headers.authorization as string | undefined, action, target)
  const ctx: RouteContext = {
    center,
    authorize,
    audit: async (entry) => {
      await audit.record(entry)
    },
    instances: options.instances,
    dataDir: options.dataDir,
  }

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (isStconfError(error)) {
      return reply.status(error.status).send(errorBody(error.code, error.message, error.hint))
    }

    const fastifyError = error as {statusCode?: number; code?: string; message?: string}
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(errorBody('too-large', `content is over the limit of ${maxBytes} bytes (${formatBytes(maxBytes)})`))
    }

    if (fastifyError.statusCode && fastifyError.statusCode < 500) {
      return reply.status(fastifyError.statusCode).send(errorBody('bad-input', fastifyError.message ?? `HTTP ${fastifyError.statusCode}`))
    }

    return reply.status(500).send(errorBody('internal', `internal error: ${fastifyError.message ?? String(error)}`))
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody('not-found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  )

  app.get('/healthz', async (_request, reply) => {
    const zkUp = options.zk ? options.zk.connected : true
    const health: HealthAnswer = {ok: zkUp, mode: center.mode, ...(options.zk ? {zookeeper: zkUp ? 'connected' : 'unreachable'} : {})}
    return reply.status(zkUp ? 200 : 503).send(health)
  })

  app.get('/api/v1/config/:env/*', async (request: FastifyRequest<{Params: KeyParams}>, reply) => {
    authorize(request.headers, 'read', request.params)
    const {env, key} = target(request.params)
    const query = parseQuery(request.query, configQuery)
    if (query.version !== undefined) {
      const {meta, content} = await center.versionContent(env, key, parseVersion(query.version))
      return sendContent(reply, meta, content)
    }

    const current = await center.current(env, key)
    if (!current) throw new StconfError('not-found', `no key ${key} in env ${env}`, `see \`stconf ls --env ${env}\``)
    return sendContent(reply, current.meta, current.content)
  })

  app.put('/api/v1/config/:env/*', async (request: FastifyRequest<{Params: KeyParams}>, reply) => {
    const caller = authorize(request.headers, 'write', request.params)
    const {env, key} = target(request.params)
    const content = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    checkSize(content, maxBytes)
    const ifMatch = request.headers['if-match']
    const expectVersion = ifMatch === undefined ? undefined : parseExpect(String(ifMatch))
    const result = await center.push({env, key, content, author: caller.name, message: decodeText(request.headers[MESSAGE_HEADER]), expectVersion})
    const answer: PushAnswer = {changed: result.changed, env, key, ...result.meta, ...(result.createdEnv ? {createdEnv: true} : {})}
    return reply.status(result.changed ? 201 : 200).header('etag', `"${result.meta.version}"`).send(answer)
  })

  app.get('/api/v1/history/:env/*', async (request: FastifyRequest<{Params: KeyParams}>): Promise<HistoryAnswer> => {
    authorize(request.headers, 'view', request.params)
    const {env, key} = target(request.params)
    const query = parseQuery(request.query, historyQuery)
    const limit = query.limit === undefined ? 100 : parseVersion(query.limit, 'limit')
    return {env, key, versions: await center.historyOf(env, key, limit)}
  })

  app.post('/api/v1/rollback/:env/*', async (request: FastifyRequest<{Params: KeyParams}>, reply) => {
    const caller = authorize(request.headers, 'write', request.params)
    const {env, key} = target(request.params)
    const body = parseJsonBody(request.body, rollbackRequest)
    const result = await center.rollback(env, key, body.to, caller.name, body.message)
    const answer: PushAnswer = {changed: result.changed, env, key, ...result.meta}
    return reply.status(result.changed ? 201 : 200).send(answer)
  })

  app.get('/api/v1/keys/:env', async (request: FastifyRequest<{Params: {env: string}}>): Promise<KeysAnswer> => {
    authorize(request.headers, 'read', request.params)
    const env = validateEnv(request.params.env)
    const query = parseQuery(request.query, keysQuery)
    const prefix = query.prefix ? query.prefix.replace(/\/?$/, '/') : ''
    const keys = (await center.list(env)).filter((k) => k.key.startsWith(prefix))
    return {env, keys: keys.map(({key, meta}) => ({key, ...meta}))}
  })

  app.get('/api/v1/envs', async (request): Promise<EnvsAnswer> => {
    // Whoever may read keys may learn which envs exist; an env-scoped token, its own envs only.
    const caller = authorize(request.headers, 'read')
    const envs = await center.envs()
    return {envs: caller.envs ? envs.filter((entry) => caller.envs!.includes(entry.env)) : envs}
  })

  app.get('/api/v1/audit', async (request): Promise<AuditAnswer> => {
    const caller = authorize(request.headers, 'view')
    // An env-scoped token sees the entries of its envs only (audit spans every env), filtered before the limit.
    return {entries: await audit.list({...parseAuditQuery(request.query), ...(caller.envs ? {envs: caller.envs} : {})})}
  })

  app.get('/api/v1/tokens', async (request): Promise<TokensAnswer> => {
    authorize(request.headers, 'admin')
    return {tokens: tokens.list()}
  })

  app.post('/api/v1/tokens', async (request, reply) => {
    const caller = authorize(request.headers, 'admin')
    const body = parseJsonBody(request.body, tokenCreateRequest)
    const token = await tokens.create(body.name, body.role, {envs: body.envs, hosts: body.hosts})
    const scope = [body.envs?.length ? `envs ${body.envs.join(',')}` : '', body.hosts?.length ? `hosts ${body.hosts.join(',')}` : ''].filter(Boolean)
    await audit.record({actor: caller.name, action: 'token-create', detail: `${body.name} (${[body.role, ...scope].join('; ')})`})
    const created: CreatedToken = {name: body.name, role: body.role, ...(body.envs?.length ? {envs: body.envs} : {}), ...(body.hosts?.length ? {hosts: body.hosts} : {}), token}
    return reply.status(201).send(created)
  })

  app.delete('/api/v1/tokens/:name', async (request: FastifyRequest<{Params: {name: string}}>): Promise<RevokeAnswer> => {
    const caller = authorize(request.headers, 'admin')
    await tokens.revoke(request.params.name)
    await audit.record({actor: caller.name, action: 'token-revoke', detail: request.params.name})
    return {revoked: request.params.name}
  })

  await registerAgentRoutes(app, {center, instances: ctx.instances, authorize})
  await registerInstanceRoutes(app, {center, instances: ctx.instances, authorize, audit: ctx.audit})
  await registerEventRoutes(app, {hub: options.hub, authorize, mode: center.mode, zk: options.zk})
  return app
}

const AUDIT_PARAMS = Object.keys(auditQuery.shape)

/** GET /api/v1/audit's query parameters; every one given narrows the result. */
function parseAuditQuery(params: unknown): AuditQuery {
  const unknown = Object.keys(params ?? {}).find((name) => !AUDIT_PARAMS.includes(name))
  if (unknown) throw badInput(`unknown audit filter "${unknown}"`, `filters: ${AUDIT_PARAMS.join(', ')}`)
  const raw = parseQuery(params, auditQuery)
  const query: AuditQuery = {limit: raw.limit === undefined ? 1000 : parseVersion(raw.limit, 'limit')}
  if (raw.since !== undefined) {
    query.since = new Date(raw.since)
    if (Number.isNaN(query.since.getTime())) throw badInput(`invalid --since "${raw.since}"`, 'use an ISO date like 2026-11-01 or 2026-11-01T10:00:00Z')
  }

  if (raw.env !== undefined) query.env = validateEnv(raw.env)
  if (raw.key !== undefined) query.key = validateKey(raw.key)
  for (const name of ['actor', 'action'] as const) {
    const value = raw[name]
    if (value === undefined) continue
    if (value === '' || value.length > 64) throw badInput(`invalid --${name} "${value}"`, `give a ${name} name as \`stconf audit\` shows it`)
    query[name] = value
  }

  return query
}

function parseExpect(raw: string): number {
  const unquoted = raw.trim().replace(/^W\//, '').replaceAll('"', '')
  if (unquoted === '0') return 0
  return parseVersion(unquoted, 'If-Match version')
}
