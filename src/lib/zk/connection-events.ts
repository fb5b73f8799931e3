// What an operator needs to hear about a ZooKeeper connection, from the wrapper's typed states: lost,
// back on the same session, session expired, a new session. A session the wrapper gives up while the
// connection is already down (a stuck attempt rebuilt) is not news: the next line says "new session".
import type {ZkClient, ZkStateChange} from './zk-client.js'

export type ZkConnectionState = 'connected' | 'lost' | 'reconnected' | 'expired' | 'new-session'

export interface ZkConnectionEvent {
  time: string
  /** the ensemble as configured (host:port[,host:port...]) */
  address: string
  state: ZkConnectionState
  session: string
  /** why, when the wrapper said so (why it gave a session up) */
  reason?: string
}

/** The log events of one state change of the wrapper, given whether the connection was up before it. */
export function connectionEvents(change: ZkStateChange, wasUp: boolean): Array<{state: ZkConnectionState; reason?: string}> {
  switch (change.state) {
    case 'connected':
      return [{state: 'connected'}]
    case 'reconnected':
      return [{state: change.newSession ? 'new-session' : 'reconnected'}]
    case 'suspended':
      return [{state: 'lost'}]
    case 'lost':
      if (change.expired) return [...(wasUp ? [{state: 'lost' as const}] : []), {state: 'expired'}]
      return wasUp ? [{state: 'lost', reason: change.reason}] : []
  }
}

/** Calls `listener` on every connection state change of `client`; returns the unsubscribe. */
export function watchConnection(client: ZkClient, listener: (event: ZkConnectionEvent) => void, now: () => Date = () => new Date()): () => void {
  let up = false
  return client.onState((change) => {
    const wasUp = up
    up = change.state === 'connected' || change.state === 'reconnected'
    for (const {state, reason} of connectionEvents(change, wasUp)) {
      listener({time: now().toISOString(), address: client.connectString, state, session: change.session, ...(reason ? {reason} : {})})
    }
  })
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
