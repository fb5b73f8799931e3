// serve's side of the agent protocol:
//   POST   /api/v1/watch/:env          long-poll: answers when a listed key's version differs
//   PUT    /api/v1/instances/:env/:host heartbeat of an http-source agent (report + intervalMs)
//   DELETE /api/v1/instances/:env/:host an http-source agent stopped cleanly
//   GET    /api/v1/instances/:env[?key] every instance (ZooKeeper ephemerals + heartbeats), with inSync
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {z} from 'zod'
import type {FileReport, InstanceReport} from '../agent/types.js'
import {badInput} from '../errors.js'
import {validateEnv, validateKey, type VersionMeta} from '../model.js'
import {zkPath} from '../zk/zk-client.js'
import type {RouteContext} from './center-types.js'
import {parseJsonBody} from './json-body.js'

const MAX_WATCH_MS = 60_000
const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

const watchBody = z.strictObject({
  keys: z.record(z.string(), z.number().int().min(-1)),
  timeoutMs: z.number().int().min(0).optional(),
})

const fileReport = z.object({
  key: z.string(),
  dest: z.string(),
  version: z.number().int().nullable(),
  sha256: z.string().nullable(),
  status: z.enum(['ok', 'check-failed', 'reload-failed', 'pending', 'error']),
  appliedAt: z.string().nullable(),
  error: z.string().nullable(),
})

const heartbeatBody = z.object({
  host: z.string(),
  pid: z.number().int(),
  agentVersion: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  files: z.array(fileReport).max(10_000),
  intervalMs: z.number().int().positive().max(3_600_000),
})

export interface InstanceView {
  host: string
  pid: number
  agentVersion: string
  startedAt: string
  updatedAt: string
  online: boolean
  lastSeen: string
  via: 'zk' | 'http'
  files: Array<FileReport & {inSync: boolean; centerVersion: number | null}>
}

function validateHost(host: string): string {
  if (!HOST_RE.test(host)) throw badInput(`invalid host "${host}"`, 'a host is 1-128 characters: letters, digits, ".", "_", "-"')
  return host
}

interface Heartbeat {
  report: InstanceReport
  intervalMs: number
  lastSeen: number
}

export async function registerAgentRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  // Long-polls end at once when serve stops, instead of holding its shutdown for up to a minute.
  let closing = false
  const sleepers = new Set<() => void>()
  app.addHook('preClose', async () => {
    closing = true
    for (const wakeUp of sleepers) wakeUp()
  })

  const heartbeats = new Map<string, Map<string, Heartbeat>>()

  app.post('/api/v1/watch/:env', async (request: FastifyRequest<{Params: {env: string}}>, reply) => {
    ctx.authorize(request.headers, 'read', request.params)
    const env = validateEnv(request.params.env)
    const body = parseJsonBody(request.body, watchBody)
    const keys = Object.entries(body.keys)
    if (keys.length > 10_000) throw badInput('too many keys in one watch', 'at most 10000')
    for (const [key] of keys) validateKey(key)
    const wanted = new Map(keys)
    const timeoutMs = Math.min(body.timeoutMs ?? 30_000, MAX_WATCH_MS)

    // -1: "unknown", always answered; a missing key counts as version 0.
    const differing = async (only?: string[]): Promise<Array<{key: string; meta: VersionMeta | null}>> => {
      const changed: Array<{key: string; meta: VersionMeta | null}> = []
      await Promise.all(
        (only ?? [...wanted.keys()]).map(async (key) => {
          const meta = await ctx.center.meta(env, key)
          const known = wanted.get(key)!
          if (known === -1 || (meta?.version ?? 0) !== known) changed.push({key, meta})
        }),
      )
      return changed
    }

    // Subscribe before the first read, so a change between the two is not lost.
    let wake: (key: string) => void = () => undefined
    const pending: string[] = []
    const unsubscribe = ctx.center.onChange((event) => {
      if (event.env === env && wanted.has(event.key)) {
        pending.push(event.key)
        wake(event.key)
      }
    })
    try {
      const now = await differing()
      if (now.length > 0 || timeoutMs === 0) return {changed: now}
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline && !closing) {
        if (pending.length === 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer)
              reply.raw.off('close', done)
              sleepers.delete(done)
              wake = () => undefined
              resolve()
            }

            const timer = setTimeout(done, deadline - Date.now())
            reply.raw.once('close', done) // the agent went away
            sleepers.add(done)
            wake = done
          })
          if (reply.raw.destroyed || request.raw.socket?.destroyed) return {changed: []}
        }

        const keysNow = [...new Set(pending.splice(0))]
        if (keysNow.length === 0) continue
        const changed = await differing(keysNow)
        if (changed.length > 0) return {changed}
      }

      return {changed: []}
    } finally {
      unsubscribe()
    }
  })

  app.put('/api/v1/instances/:env/:host', async (request: FastifyRequest<{Params: {env: string; host: string}}>) => {
    ctx.authorize(request.headers, 'report', request.params)
    const env = validateEnv(request.params.env)
    const host = validateHost(request.params.host)
    const body = parseJsonBody(request.body, heartbeatBody)
    for (const file of body.files) validateKey(file.key)
    const {intervalMs, ...report} = body
    let byHost = heartbeats.get(env)
    if (!byHost) heartbeats.set(env, (byHost = new Map()))
    byHost.set(host, {report: {...report, host}, intervalMs, lastSeen: Date.now()})
    return {ok: true}
  })

  app.delete('/api/v1/instances/:env/:host', async (request: FastifyRequest<{Params: {env: string; host: string}}>) => {
    ctx.authorize(request.headers, 'report', request.params)
    const env = validateEnv(request.params.env)
    const host = validateHost(request.params.host)
    return {removed: heartbeats.get(env)?.delete(host) ?? false}
  })

  app.get('/api/v1/instances/:env', async (request: FastifyRequest<{Params: {env: string}; Querystring: {key?: string}}>) => {
    ctx.authorize(request.headers, 'view', request.params)
    const env = validateEnv(request.params.env)
    const onlyKey = request.query.key === undefined ? undefined : validateKey(request.query.key)
    const now = Date.now()
    const byHost = new Map<string, Omit<InstanceView, 'files'> & {files: FileReport[]}>()

    for (const [host, beat] of heartbeats.get(env) ?? []) {
      byHost.set(host, {
        ...beat.report,
        host,
        online: now - beat.lastSeen < 3 * beat.intervalMs,
        lastSeen: new Date(beat.lastSeen).toISOString(),
        via: 'http',
      })
    }

    if (ctx.zk) {
      // An ephemeral node exists exactly while its agent's session lives: present = online now.
      const {client, root} = ctx.zk
      const dir = zkPath(root, 'instances', env)
      const hosts = (await client.getChildren(dir)) ?? []
      await Promise.all(
        hosts.map(async (host) => {
          const node = await client.getData(zkPath(dir, host))
          if (!node) return
          let report: InstanceReport
          try {
            report = JSON.parse(node.data.toString('utf8')) as InstanceReport
          } catch {
            return
          }

          const previous = byHost.get(host)
          if (previous?.online && previous.updatedAt > report.updatedAt) return
          byHost.set(host, {...report, host, online: true, lastSeen: new Date(now).toISOString(), via: 'zk'})
        }),
      )
    }

    const metas = new Map<string, Promise<VersionMeta | null>>()
    const metaOf = (key: string) => {
      let meta = metas.get(key)
      if (!meta) metas.set(key, (meta = ctx.center.meta(env, key)))
      return meta
    }

    const instances: InstanceView[] = []
    for (const instance of [...byHost.values()].sort((a, b) => a.host.localeCompare(b.host))) {
      const files = instance.files.filter((file) => !onlyKey || file.key === onlyKey)
      if (onlyKey && files.length === 0) continue
      instances.push({
        ...instance,
        files: await Promise.all(
          files.map(async (file) => {
            const meta = await metaOf(file.key)
            return {...file, centerVersion: meta?.version ?? null, inSync: !!meta && file.version === meta.version && file.sha256 === meta.sha256}
          }),
        ),
      })
    }

    return {env, instances}
  })
}
