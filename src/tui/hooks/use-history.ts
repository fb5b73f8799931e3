import {useEffect, type Dispatch} from 'react'
import type {ApiClient} from '../../lib/client/api-client.js'
import {formatErrorLine} from '../../lib/errors.js'
import type {Action} from '../state.js'

/**
 * Reads the selected key's versions when the selection (or its current version) changes. A short
 * pause first: holding ↓ through thousands of keys reads only where the cursor stops.
 */
export function useHistory(client: ApiClient, env: string, key: string | null, version: number | undefined, dispatch: Dispatch<Action>): void {
  useEffect(() => {
    if (!key) return
    let cancelled = false
    const timer = setTimeout(() => {
      client
        .history(env, key, 100)
        .then((versions) => !cancelled && dispatch({type: 'history', key, versions}))
        .catch((error) => !cancelled && dispatch({type: 'message', message: formatErrorLine(error)}))
    }, 40)
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [client, env, key, version, dispatch])
}
