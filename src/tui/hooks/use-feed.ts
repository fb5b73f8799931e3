import {useEffect, type Dispatch} from 'react'
import type {ApiClient} from '../../lib/client/api-client.js'
import {followFeed, type EarlyFeed} from '../feed.js'
import type {Action} from '../state.js'

/**
 * Follows the center's event stream for `env` while mounted (and starts over when env changes). The
 * feed opened before the screen (`early`) is used for the env it was opened for, once.
 */
export function useFeed(client: ApiClient, env: string, dispatch: Dispatch<Action>, early?: EarlyFeed): void {
  useEffect(() => {
    if (early?.available(env)) {
      early.attach(dispatch)
      return () => early.stop()
    }

    const controller = new AbortController()
    void followFeed(client, env, dispatch, controller.signal)
    return () => controller.abort()
  }, [client, env, dispatch, early])
}
