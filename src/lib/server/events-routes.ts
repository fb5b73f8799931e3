// The live feed for dashboards (the TUI, later the web console):
//   GET /api/v1/events?env=<env>   Server-Sent Events: hello, then change / audit / instance /
//                                  zookeeper events as they happen; a comment line as heartbeat;
//                                  Last-Event-ID resumes from a short backlog, else `resync`
import type {FastifyInstance} from 'fastify'
import {eventsQuery, type HelloEvent} from '../api/contract.js'
import {badInput} from '../errors.js'
import {validateEnv} from '../model.js'
import type {RouteContext} from './center-types.js'
import type {EventHub, StampedEvent} from './event-hub.js'
import {parseQuery} from './json-body.js'

export interface EventRoutesOptions {
  hub: EventHub
  authorize: RouteContext['authorize']
  mode: 'embedded' | 'zookeeper'
  /** ZooKeeper mode: serve's connection (its state goes into hello; serve.ts publishes its changes) */
  zk?: {connected: boolean}
  /** proxies close idle connections after ~30-60 s; a comment every 15 s keeps the stream open */
  heartbeatMs?: number
}

export async function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): Promise<void> {
  const {hub, authorize, zk} = options
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const streams = new Set<() => void>()
  const zkState = () => (zk ? (zk.connected ? 'connected' : 'unreachable') : null)

  // Open streams never end by themselves: end them, or closing serve would wait for the clients.
  app.addHook('preClose', async () => {
    for (const end of streams) end()
  })

  app.get('/api/v1/events', async (request, reply) => {
    const query = parseQuery(request.query, eventsQuery)
    if (!query.env) throw badInput('missing env', 'use GET /api/v1/events?env=<env>')
    const env = validateEnv(query.env)
    // The stream carries audit entries and instance reports: what `view` may see, for this env.
    const caller = authorize(request.headers, 'view', {env})
    const lastId = request.headers['last-event-id']

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: do not hold events back
    })
    const write = (name: string, data: unknown, id?: string) => res.write(`${id ? `id: ${id}\n` : ''}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
    // An env-scoped token does not see audit entries about no env (tokens), as GET /api/v1/audit.
    const send = ({id, event}: StampedEvent) => {
      if (caller.envs && event.type === 'audit' && event.env === undefined) return
      write(event.type, event, id)
    }

    // The backlog read and the subscription happen in one tick, so no event falls between them.
    const missed = typeof lastId === 'string' && lastId !== '' ? hub.since(env, lastId) : undefined
    const unsubscribe = hub.subscribe(env, send)
    res.write('retry: 2000\n\n')
    write('hello', {env, mode: options.mode, zookeeper: zkState(), caller: {name: caller.name, role: caller.role}, boot: hub.boot} satisfies HelloEvent)
    if (missed === null) write('resync', {reason: 'events since Last-Event-ID are no longer known; read everything again'})
    for (const stamped of missed ?? []) send(stamped)

    const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs)
    const end = () => {
      clearInterval(heartbeat)
      unsubscribe()
      streams.delete(end)
      if (!res.writableEnded) res.end()
    }

    streams.add(end)
    res.on('close', end)
  })
}
