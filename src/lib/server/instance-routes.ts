// The operator's side of the fleet:
//   GET  /api/v1/instances/:env[?key]                 every instance (online, offline, stopped) with its state
//   POST /api/v1/instances/:env/:instance/forget      drop an offline or stopped instance (operator; audited)
//   GET  /api/v1/rollout/:env/<key>?version=N[&seen=D&timeoutMs=T]
//        receipts of every instance following the key for version N; with `seen` (the digest of the
//        previous answer) it is a long-poll that answers when the receipts change (registry or center
//        notifications), so `push --wait` never polls instances.
import {createHash} from 'node:crypto'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {instancesQuery, rolloutQuery, type ForgetAnswer, type InstancesAnswer, type Receipt, type RolloutAnswer} from '../api/contract.js'
import {badInput} from '../errors.js'
import {receiptOf, sortByHost} from '../fleet.js'
import {parseVersion, validateEnv, validateInstanceName, validateKey} from '../model.js'
import type {CenterApi, RouteContext} from './center-types.js'
import type {InstanceRegistry} from './instance-registry.js'
import {viewInstances} from './instance-views.js'
import {parseQuery} from './json-body.js'
import {LongPolls} from './long-poll.js'

const MAX_HOLD_MS = 60_000

export interface InstanceRouteServices {
  center: CenterApi
  instances: InstanceRegistry
  authorize: RouteContext['authorize']
  audit: RouteContext['audit']
}

export async function registerInstanceRoutes(app: FastifyInstance, services: InstanceRouteServices): Promise<void> {
  const {center, instances} = services
  const polls = new LongPolls(app)

  app.get('/api/v1/instances/:env', async (request: FastifyRequest<{Params: {env: string}}>): Promise<InstancesAnswer> => {
    services.authorize(request.headers, 'view', request.params)
    const env = validateEnv(request.params.env)
    const query = parseQuery(request.query, instancesQuery)
    const onlyKey = query.key === undefined ? undefined : validateKey(query.key)
    const views = await viewInstances(await instances.list(env), (key) => center.meta(env, key), onlyKey)
    return {env, instances: views}
  })

  app.post('/api/v1/instances/:env/:instance/forget', async (request: FastifyRequest<{Params: {env: string; instance: string}}>): Promise<ForgetAnswer> => {
    const caller = services.authorize(request.headers, 'write', {env: request.params.env})
    const env = validateEnv(request.params.env)
    const instance = validateInstanceName(request.params.instance)
    const entry = await instances.forget(env, instance)
    await services.audit({actor: caller.name, action: 'instance-forget', env, detail: `${instance} (${entry.presence} since ${entry.since})`})
    return {forgotten: instance, env}
  })

  app.get(
    '/api/v1/rollout/:env/*',
    async (request: FastifyRequest<{Params: {env: string; '*': string}}>, reply): Promise<RolloutAnswer> => {
      services.authorize(request.headers, 'view', {env: request.params.env})
      const env = validateEnv(request.params.env)
      const key = validateKey(request.params['*'])
      const query = parseQuery(request.query, rolloutQuery)
      const version = parseVersion(query.version)
      const timeoutMs = query.timeoutMs === undefined ? 0 : Number(query.timeoutMs)
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) throw badInput(`invalid timeoutMs "${query.timeoutMs}"`, 'milliseconds, 0 or more')

      const answer = async (): Promise<RolloutAnswer> => {
        const views = await viewInstances(await instances.list(env), (k) => center.meta(env, k), key)
        const receipts = sortByHost(views.map((view) => receiptOf(view, key, version)).filter((r): r is Receipt => r !== null))
        const digest = createHash('sha256').update(JSON.stringify(receipts)).digest('hex').slice(0, 16)
        return {env, key, version, digest, receipts}
      }

      // Subscribe before the first read, so a change between the two is not lost.
      let changed = false
      let wake: () => void = () => undefined
      const onEvent = () => {
        changed = true
        wake()
      }

      const offInstances = instances.onChange((event) => event.env === env && onEvent())
      const offCenter = center.onChange((event) => event.env === env && event.key === key && onEvent())
      try {
        let current = await answer()
        const deadline = Date.now() + Math.min(timeoutMs, MAX_HOLD_MS)
        while (current.digest === query.seen && Date.now() < deadline && !polls.stopping) {
          if (!changed) {
            await polls.hold(reply, deadline - Date.now(), (wakeUp) => {
              wake = wakeUp
              return () => (wake = () => undefined)
            }).woken
            if (reply.raw.destroyed) return current
          }

          changed = false
          current = await answer()
        }

        return current
      } finally {
        offInstances()
        offCenter()
      }
    },
  )
}
