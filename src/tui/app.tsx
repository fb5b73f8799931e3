// The dashboard: the store, the hooks that feed it, the key handler that reads the key map, and the
// screen. Everything drawn comes from the store; nothing here fetches while rendering.
import {useApp, useInput} from 'ink'
import {useEffect, useMemo, useReducer, useRef} from 'react'
import type {ApiClient} from '../lib/client/api-client.js'
import {Screen, shownAgeTimes} from './components/screen.js'
import {ColorContext} from './components/theme.js'
import {runEffect} from './effects.js'
import type {EarlyFeed} from './feed.js'
import {fleetIndex} from './format.js'
import {useFeed} from './hooks/use-feed.js'
import {useHistory} from './hooks/use-history.js'
import {useAgeClock, useTerminalSize} from './hooks/use-terminal.js'
import {keyName, resolveKey} from './keymap.js'
import {initialState, reducer} from './state.js'

export interface AppProps {
  client: ApiClient
  env: string
  colors: boolean
  /** the feed opened before the screen: what it read so far is the first frame */
  feed?: EarlyFeed
}

export function App({client, env, colors, feed}: AppProps) {
  const [state, dispatch] = useReducer(reducer, undefined, () => (feed?.available(env) ? feed.take() : []).reduce(reducer, initialState(client.server, env)))
  const latest = useRef(state)
  latest.current = state
  const {exit} = useApp()
  const {cols, rows} = useTerminalSize()
  const now = useAgeClock(shownAgeTimes(state, cols, rows), 5000)
  const fleet = useMemo(() => fleetIndex(state.instances), [state.instances])
  const selectedVersion = state.keys.find((k) => k.key === state.selectedKey)?.version
  const shownVersion = state.history?.key === state.selectedKey ? state.history?.versions[0]?.version : undefined

  useFeed(client, state.env, dispatch, feed)
  useHistory(client, state.env, state.selectedKey, selectedVersion, shownVersion, dispatch)
  useEffect(() => {
    if (state.quit) exit()
  }, [state.quit, exit])

  useInput((input, key) => {
    let current = latest.current
    if (current.message) dispatch({type: 'message', message: null})
    // Keys typed (or pasted) faster than a read arrive as one string: take them one by one.
    const plain = input.length > 1 && !key.ctrl && !key.meta && !key.escape
    for (const name of plain ? [...input] : [keyName(input, key)]) {
      const todo = resolveKey(current, name)
      if (!todo) continue
      if (todo.type === 'effect') {
        void runEffect(todo.effect, current, client, dispatch)
      } else {
        dispatch({type: 'command', command: todo})
        current = reducer(current, {type: 'command', command: todo})
      }
    }

    latest.current = current
  })

  return (
    <ColorContext.Provider value={colors}>
      <Screen state={state} fleet={fleet} cols={cols} rows={rows} now={now} />
    </ColorContext.Provider>
  )
}
