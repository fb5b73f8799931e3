// Placeholder until the agent routes land (watch long-poll, heartbeats, instances).
import type {FastifyInstance} from 'fastify'
import type {RouteContext} from './center-types.js'

export async function registerAgentRoutes(_app: FastifyInstance, _ctx: RouteContext): Promise<void> {}
