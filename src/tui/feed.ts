// Following the center: the event stream of one env, a full re-read on every (re)connect, and the
// instance list re-read when an instance or change event says it moved. Back-off while serve cannot
// be reached; the last data stays in the store meanwhile. No React here: the hook only starts it.
// The first feed starts before Ink is even imported (EarlyFeed): serve answers while node loads it.
import {nextBackoff} from '../lib/backoff.js'
import {sleep} from '../lib/sleep.js'
import type {ApiClient, AuditEntry, KeyEntry} from '../lib/client/api-client.js'
import type {SseEvent} from '../lib/client/sse-parser.js'
import {formatErrorLine, isStconfError, unavailable} from '../lib/errors.js'
import type {FeedEvent, HelloEvent} from '../lib/api/contract.js'
import {initialState, reducer, type Action} from './state.js'

/** How many audit entries a (re)connect reads; newer ones arrive as events. */
export const AUDIT_READ = 200
/** How many versions of the selected key are read (the Versions pane). */
export const HISTORY_READ = 100

/** Runs `task` at most once at a time; asks made while it runs give one more run after it. */
export function coalesce(task: () => Promise<void>, quietMs: number): {request(): void; cancel(): void} {
  let running = false
  let again = false
  let timer: NodeJS.Timeout | undefined
  let cancelled = false
  const start = () => {
    timer = undefined
    running = true
    void task()
      .catch(() => undefined)
      .finally(() => {
        running = false
        if (again && !cancelled) {
          again = false
          timer = setTimeout(start, quietMs)
        }
      })
  }

  return {
    request() {
      if (cancelled) return
      if (running) again = true
      else if (!timer) timer = setTimeout(start, quietMs) // a burst of heartbeats: one read
    },
    cancel() {
      cancelled = true
      clearTimeout(timer)
    },
  }
}

/**
 * Follows `env` until `signal` aborts. The event stream is opened first and the snapshot (keys,
 * instances, audit) read only once serve said hello on it, so nothing committed between the snapshot
 * and the stream is missed; events that arrive during the read are applied after it. `onFailure`
 * hears why each connection ended (before the banner says so).
 */
export async function followFeed(client: ApiClient, env: string, dispatch: (action: Action) => void, signal: AbortSignal, onFailure?: (error: unknown) => void): Promise<void> {
  let backoff = 0
  while (!signal.aborted) {
    const connection = new AbortController()
    const abortConnection = () => connection.abort()
    signal.addEventListener('abort', abortConnection, {once: true})
    const instances = coalesce(async () => dispatch({type: 'instances', instances: await client.instances(env)}), 50)
    let failure: unknown
    try {
      // Events that arrive while the snapshot is read wait for it, so the snapshot cannot undo them.
      let held: FeedEvent[] | null = []
      const apply = (event: FeedEvent) => {
        if (event.type === 'change') {
          dispatch({type: 'change', key: event.key, meta: event.meta})
          instances.request()
        } else if (event.type === 'audit') dispatch({type: 'audit', entry: event.entry})
        else if (event.type === 'instance') instances.request()
        else if (event.type === 'zookeeper') dispatch({type: 'zookeeper', state: event.state})
      }

      const readAll = async () => {
        held ??= []
        const [keys, list, audit] = await Promise.all([client.keys(env), client.instances(env), client.audit({limit: AUDIT_READ})])
        const seen = new Set(audit.map(sameEntry))
        dispatch({type: 'snapshot', keys, instances: list, audit: audit.filter((entry) => !entry.env || entry.env === env)})
        const waiting: FeedEvent[] = held
        held = null
        for (const event of waiting) if (event.type !== 'audit' || !seen.has(sameEntry(event.entry))) apply(event)
      }

      const onEvent = (raw: SseEvent) => {
        const data = JSON.parse(raw.data) as unknown
        if (raw.event === 'hello') {
          backoff = 0
          dispatch({type: 'hello', hello: data as HelloEvent})
          readAll().catch((error) => {
            failure = error
            connection.abort()
          })
        } else if (raw.event === 'resync') {
          readAll().catch(() => connection.abort())
        } else if (held) held.push(data as FeedEvent)
        else apply(data as FeedEvent)
      }

      await client.events(env, {onEvent, signal: connection.signal})
      if (!signal.aborted && !failure) failure = unavailable('the server ended the event stream')
    } catch (error) {
      failure = error
    } finally {
      instances.cancel()
      signal.removeEventListener('abort', abortConnection)
    }

    if (signal.aborted) return
    onFailure?.(failure)
    if (signal.aborted) return // onFailure may have stopped it
    dispatch({type: 'connection', state: 'retrying', error: shortError(failure)})
    // A refused token will not get better in 250 ms.
    backoff = isStconfError(failure) && (failure.code === 'unauthorized' || failure.code === 'forbidden') ? 5000 : nextBackoff(backoff)
    await sleep(backoff, signal)
  }
}

/**
 * The feed `stconf tui` opens with, started before the dashboard's code is imported: the event stream,
 * the snapshot and the first key's versions are on their way while node loads Ink and React. Its
 * actions wait (in order) until the dashboard takes them as its first state and attaches. `ready`
 * settles once: with the first snapshot's keys (the first key's versions read too), or with the error
 * that ended the first connection (a wrong token, serve unreachable), so the command can print that
 * one line before any screen opens.
 */
export class EarlyFeed {
  readonly ready: Promise<KeyEntry[]>
  private readonly controller = new AbortController()
  private backlog: Action[] = []
  private target: ((action: Action) => void) | null = null
  private used = false

  constructor(client: ApiClient, readonly env: string) {
    let resolve!: (keys: KeyEntry[]) => void
    let reject!: (error: unknown) => void
    this.ready = new Promise((yes, no) => {
      resolve = yes
      reject = no
    })
    this.ready.catch(() => undefined) // settled for whoever awaits it; not an unhandled rejection
    let first = true
    const emit = (action: Action) => (this.target ? this.target(action) : this.backlog.push(action))
    const dispatch = (action: Action) => {
      emit(action)
      if (action.type !== 'snapshot' || !first) return
      first = false
      const key = reducer(initialState(client.server, env), action).selectedKey
      if (!key) return resolve(action.keys)
      client
        .history(env, key, HISTORY_READ)
        .then((versions) => emit({type: 'history', key, versions}))
        .catch(() => undefined) // the Versions pane reads it again once mounted
        .finally(() => resolve(action.keys))
    }

    void followFeed(client, env, dispatch, this.controller.signal, reject)
  }

  /** Whether the dashboard may still take this feed (once, for its first env). */
  available(env: string): boolean {
    return !this.used && env === this.env && !this.controller.signal.aborted
  }

  /** The actions so far; later ones are kept for attach. */
  take(): Action[] {
    const taken = this.backlog
    this.backlog = []
    return taken
  }

  /** From now on actions go to `dispatch` (those kept since take() first). */
  attach(dispatch: (action: Action) => void): void {
    this.used = true
    for (const action of this.take()) dispatch(action)
    this.target = dispatch
  }

  stop(): void {
    this.target = null
    this.controller.abort()
  }
}

/** An audit entry's identity, without its time: the feed stamps its copy a moment after the log does. */
function sameEntry({actor, action, env, key, version, detail}: AuditEntry): string {
  return JSON.stringify([actor, action, env, key, version, detail])
}

function shortError(error: unknown): string {
  return formatErrorLine(error).split(' - ')[0]
}
