import {useEffect, type Dispatch} from 'react'
import type {ApiClient} from '../../lib/client/api-client.js'
import {followFeed} from '../feed.js'
import type {Action} from '../state.js'

/** Follows the center's event stream for `env` while mounted (and starts over when env changes). */
export function useFeed(client: ApiClient, env: string, dispatch: Dispatch<Action>): void {
  useEffect(() => {
    const controller = new AbortController()
    void followFeed(client, env, dispatch, controller.signal)
    return () => controller.abort()
  }, [client, env, dispatch])
}
