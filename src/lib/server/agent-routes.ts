// serve's side of the agent protocol:
//   POST   /api/v1/watch/:env                long-poll: answers when a listed key's version differs
//   PUT    /api/v1/instances/:env/:instance  heartbeat of an http-source agent (report + intervalMs)
//   DELETE /api/v1/instances/:env/:instance  an http-source agent stopped cleanly (body: {report?})
// Routes get services (the center, the instance registry), never the ZooKeeper client. The operator
// side (listing instances, forgetting, waiting for a rollout) is in instance-routes.ts.
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {
  heartbeatRequest,
  watchRequest,
  withdrawRequest,
  type HeartbeatAnswer,
  type InstanceReport,
  type ReportBody,
  type WatchAnswer,
  type WithdrawAnswer,
} from '../api/contract.js'
import {badInput} from '../errors.js'
import {parseInstanceName, validateEnv, validateInstanceName, validateKey} from '../model.js'
import type {CenterApi, RouteContext} from './center-types.js'
import type {InstanceRegistry} from './instance-registry.js'
import {parseJsonBody} from './json-body.js'
import {LongPolls} from './long-poll.js'

const MAX_WATCH_MS = 60_000

export interface AgentRouteServices {
  center: CenterApi
  instances: InstanceRegistry
  authorize: RouteContext['authorize']
}

type InstanceParams = {Params: {env: string; instance: string}}

/** The report as the route names it: <host>[@<app>[.<n>]] decides host and app, not the body. */
function reportOf(instance: string, body: ReportBody): InstanceReport {
  for (const file of body.files) validateKey(file.key)
  const name = parseInstanceName(instance)
  const {app: _app, ...rest} = body
  return {...rest, instance, host: name.host, ...(name.app ? {app: name.n === undefined ? name.app : `${name.app}.${name.n}`} : {})}
}

export async function registerAgentRoutes(app: FastifyInstance, services: AgentRouteServices): Promise<void> {
  const {center, instances} = services
  const polls = new LongPolls(app)
  // Who may write reports, in one place: role agent (or above), held to the token's env and host scope.
  const authorizeReporter = (request: FastifyRequest<InstanceParams>) =>
    services.authorize(request.headers, 'report', {env: request.params.env, host: request.params.instance})

  app.post('/api/v1/watch/:env', async (request: FastifyRequest<{Params: {env: string}}>, reply): Promise<WatchAnswer> => {
    services.authorize(request.headers, 'read', request.params)
    const env = validateEnv(request.params.env)
    const body = parseJsonBody(request.body, watchRequest)
    const keys = Object.entries(body.keys)
    if (keys.length > 10_000) throw badInput('too many keys in one watch', 'at most 10000')
    for (const [key] of keys) validateKey(key)
    const wanted = new Map(keys)
    const timeoutMs = Math.min(body.timeoutMs ?? 30_000, MAX_WATCH_MS)

    // -1: "unknown", always answered; a missing key counts as version 0.
    const differing = async (only?: string[]): Promise<WatchAnswer['changed']> => {
      const changed: WatchAnswer['changed'] = []
      await Promise.all(
        (only ?? [...wanted.keys()]).map(async (key) => {
          const meta = await center.meta(env, key)
          const known = wanted.get(key)!
          if (known === -1 || (meta?.version ?? 0) !== known) changed.push({key, meta})
        }),
      )
      return changed
    }

    // Subscribe before the first read, so a change between the two is not lost.
    const pending: string[] = []
    let wake: () => void = () => undefined
    const unsubscribe = center.onChange((event) => {
      if (event.env === env && wanted.has(event.key)) {
        pending.push(event.key)
        wake()
      }
    })
    try {
      const now = await differing()
      if (now.length > 0 || timeoutMs === 0) return {changed: now}
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline && !polls.stopping) {
        if (pending.length === 0) {
          await polls.hold(reply, deadline - Date.now(), (wakeUp) => {
            wake = wakeUp
            return () => (wake = () => undefined)
          }).woken
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

  app.put('/api/v1/instances/:env/:instance', async (request: FastifyRequest<InstanceParams>): Promise<HeartbeatAnswer> => {
    authorizeReporter(request)
    const env = validateEnv(request.params.env)
    const {intervalMs, ...body} = parseJsonBody(request.body, heartbeatRequest)
    await instances.heartbeat(env, reportOf(request.params.instance, body), intervalMs)
    return {ok: true}
  })

  app.delete('/api/v1/instances/:env/:instance', async (request: FastifyRequest<InstanceParams>): Promise<WithdrawAnswer> => {
    authorizeReporter(request)
    const env = validateEnv(request.params.env)
    const instance = validateInstanceName(request.params.instance)
    const body = request.body === undefined || (Buffer.isBuffer(request.body) && request.body.length === 0) ? {} : parseJsonBody(request.body, withdrawRequest)
    const final = body.report ? reportOf(instance, body.report) : undefined
    return {removed: await instances.withdraw(env, instance, final)}
  })
}
