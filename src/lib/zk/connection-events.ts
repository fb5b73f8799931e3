// What an operator needs to hear about a ZooKeeper connection, from the wrapper's raw events: lost,
// back on the same session, session expired, a new session. Repeats while it stays down (each failed
// attempt, each rebuild of a stuck client) are not news and are dropped.
import type {ZkClient} from './zk-client.js'

export type ZkConnectionState = 'connected' | 'lost' | 'reconnected' | 'expired' | 'new-session'

export interface ZkConnectionEvent {
  time: string
  /** the ensemble as configured (host:port[,host:port...]) */
  address: string
  state: ZkConnectionState
  session: string
  /** why, when the wrapper said so (a rebuild's reason) */
  reason?: string
}

/** Calls `listener` on every connection state change of `client`; returns the unsubscribe. */
export function watchConnection(client: ZkClient, listener: (event: ZkConnectionEvent) => void, now: () => Date = () => new Date()): () => void {
  let up = false
  let everConnected = false
  let expired = false
  const emit = (state: ZkConnectionState, reason?: string) =>
    listener({time: now().toISOString(), address: client.connectString, state, session: client.session, ...(reason ? {reason} : {})})

  const onConnected = ({newSession}: {newSession: boolean}) => {
    if (up) return
    up = true
    if (!everConnected) emit('connected')
    else emit(newSession || expired ? 'new-session' : 'reconnected')
    everConnected = true
    expired = false
  }

  const onLost = (reason?: string) => {
    if (!up) return
    up = false
    emit('lost', reason)
  }

  const onDisconnected = () => onLost()
  const onRebuild = (reason: string) => onLost(reason)
  const onExpired = () => {
    if (expired) return
    expired = true
    onLost()
    emit('expired')
  }

  client.on('connected', onConnected)
  client.on('disconnected', onDisconnected)
  client.on('rebuild', onRebuild)
  client.on('expired', onExpired)
  return () => {
    client.off('connected', onConnected)
    client.off('disconnected', onDisconnected)
    client.off('rebuild', onRebuild)
    client.off('expired', onExpired)
  }
}

/** One log line (without the time) for an event. */
export function describeConnection(event: ZkConnectionEvent): string {
  const session = event.session ? `0x${event.session}` : 'none'
  const where = `ZooKeeper ${event.address}`
  switch (event.state) {
    case 'connected':
      return `${where}: connected (session ${session})`
    case 'lost':
      return `${where}: connection lost${event.reason ? ` (${event.reason})` : ''}; retrying, answering 503 until it is back`
    case 'reconnected':
      return `${where}: reconnected (same session ${session})`
    case 'expired':
      return `${where}: session ${session} expired; starting a new one`
    case 'new-session':
      return `${where}: new session ${session} established; watches re-armed`
  }
}
