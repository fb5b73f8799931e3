import {useEffect, type Dispatch} from 'react'
import type {ApiClient} from '../../lib/client/api-client.js'
import {formatErrorLine} from '../../lib/errors.js'
import {HISTORY_READ} from '../feed.js'
import type {Action} from '../state.js'

/**
 * Reads the selected key's versions when the selection (or its current version) changes, unless the
 * versions shown already end at that version (read before the screen opened, or grown by a change
 * event). A short pause first: holding ↓ through thousands of keys reads only where the cursor stops.
 */
export function useHistory(client: ApiClient, env: string, key: string | null, version: number | undefined, shownVersion: number | undefined, dispatch: Dispatch<Action>): void {
  const current = version !== undefined && shownVersion === version
  useEffect(() => {
    if (!key || current) return
    let cancelled = false
    const timer = setTimeout(() => {
      client
        .history(env, key, HISTORY_READ)
        .then((versions) => !cancelled && dispatch({type: 'history', key, versions}))
        .catch((error) => !cancelled && dispatch({type: 'message', message: formatErrorLine(error)}))
    }, 40)
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [client, env, key, version, current, dispatch])
}
