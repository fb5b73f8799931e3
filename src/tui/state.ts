// The dashboard's one store: a pure reducer fed by the event stream (via hooks) and by key commands.
// Rendering reads from it and never fetches. Tested on its own (test/unit/tui-state.test.ts).
import type {AuditEntry, KeyEntry} from '../lib/client/api-client.js'
import type {VersionMeta} from '../lib/model.js'
import type {InstanceView} from '../lib/fleet.js'
import type {HelloEvent} from '../lib/api/contract.js'
import type {Line} from './format.js'

export type PaneId = 'keys' | 'versions' | 'instances' | 'activity'
export const PANES: readonly PaneId[] = ['keys', 'versions', 'instances', 'activity']
export const PANE_TITLES: Record<PaneId, string> = {keys: 'Keys', versions: 'Versions', instances: 'Instances', activity: 'Activity'}

/** At most this many audit entries are kept on screen (newest first). */
export const AUDIT_KEPT = 1000

export type Overlay =
  | {kind: 'help'}
  | {kind: 'text'; title: string; lines: Line[]; scroll: number}
  | {kind: 'confirm'; key: string; env: string; version: number; lines: Line[]}
  | {kind: 'pick-env'; purpose: 'switch' | 'diff'; key?: string; envs: string[]; cursor: number}
  | {kind: 'busy'; title: string}

export interface TuiState {
  server: string
  env: string
  hello: HelloEvent | null
  connection: 'connecting' | 'live' | 'retrying'
  /** why the last connection failed (shown in the banner while retrying) */
  connectionError: string | null
  loaded: boolean
  /** sorted by key */
  keys: KeyEntry[]
  instances: InstanceView[]
  /** the selected key's versions, newest first */
  history: {key: string; versions: VersionMeta[]} | null
  /** newest first */
  audit: AuditEntry[]
  focus: PaneId
  /** which pane sits under Keys when the terminal is too small for all four */
  lower: Exclude<PaneId, 'keys'>
  cursor: Record<PaneId, number>
  /** the selected key, by name: the cursor follows it when keys come and go */
  selectedKey: string | null
  filter: string
  filtering: boolean
  overlay: Overlay | null
  /** one line above the hint bar: results and refusals ("viewer token: ...") */
  message: string | null
  quit: boolean
}

export function initialState(server: string, env: string): TuiState {
  return {
    server,
    env,
    hello: null,
    connection: 'connecting',
    connectionError: null,
    loaded: false,
    keys: [],
    instances: [],
    history: null,
    audit: [],
    focus: 'keys',
    lower: 'versions',
    cursor: {keys: 0, versions: 0, instances: 0, activity: 0},
    selectedKey: null,
    filter: '',
    filtering: false,
    overlay: null,
    message: null,
    quit: false,
  }
}

/** Commands the reducer carries out itself; effects (fetching, rolling back) are in use-commands. */
export type Command =
  | {type: 'focus'; delta: 1 | -1}
  | {type: 'move'; delta: number}
  | {type: 'first'}
  | {type: 'last'}
  | {type: 'close'}
  | {type: 'filter-start'}
  | {type: 'filter-type'; text: string}
  | {type: 'filter-erase'}
  | {type: 'filter-done'}
  | {type: 'help'}
  | {type: 'quit'}

export type Action =
  | {type: 'command'; command: Command}
  | {type: 'hello'; hello: HelloEvent}
  | {type: 'zookeeper'; state: 'connected' | 'unreachable'}
  | {type: 'connection'; state: TuiState['connection']; error?: string}
  | {type: 'snapshot'; keys: KeyEntry[]; instances: InstanceView[]; audit: AuditEntry[]}
  | {type: 'change'; key: string; meta: VersionMeta}
  | {type: 'instances'; instances: InstanceView[]}
  | {type: 'audit'; entry: AuditEntry}
  | {type: 'history'; key: string; versions: VersionMeta[]}
  | {type: 'env'; env: string}
  | {type: 'overlay'; overlay: Overlay | null}
  | {type: 'message'; message: string | null}

/** The keys the Keys pane lists: all, or those whose name contains the filter. */
export function visibleKeys(state: Pick<TuiState, 'keys' | 'filter'>): KeyEntry[] {
  if (!state.filter) return state.keys
  const needle = state.filter.toLowerCase()
  return state.keys.filter((k) => k.key.toLowerCase().includes(needle))
}

/** The instances that hold the selected key, each with that key's file report. */
export function instancesOf(state: Pick<TuiState, 'instances'>, key: string | null): Array<{instance: InstanceView; file: InstanceView['files'][number]}> {
  if (!key) return []
  const out = []
  for (const instance of state.instances) {
    const file = instance.files.find((f) => f.key === key)
    if (file) out.push({instance, file})
  }

  return out
}

/** How many rows the focused pane has (for moving the cursor). */
export function rowCount(state: TuiState, pane: PaneId): number {
  if (pane === 'keys') return visibleKeys(state).length
  if (pane === 'versions') return state.history?.key === state.selectedKey ? state.history.versions.length : 0
  if (pane === 'instances') return instancesOf(state, state.selectedKey).length
  return state.audit.length
}

export function selectedVersion(state: TuiState): VersionMeta | null {
  if (state.history?.key !== state.selectedKey) return null
  return state.history?.versions[state.cursor.versions] ?? null
}

const clamp = (n: number, count: number) => Math.max(0, Math.min(n, count - 1))

/** After the keys list or the filter changed: keep the selected key selected if it is still listed. */
function reselect(state: TuiState): TuiState {
  const keys = visibleKeys(state)
  let index = state.selectedKey ? keys.findIndex((k) => k.key === state.selectedKey) : -1
  if (index === -1) index = clamp(state.cursor.keys, keys.length)
  const selectedKey = keys[index]?.key ?? null
  const keyChanged = selectedKey !== state.selectedKey
  return {
    ...state,
    selectedKey,
    cursor: {...state.cursor, keys: Math.max(0, index), ...(keyChanged ? {versions: 0, instances: 0} : {})},
  }
}

function moveTo(state: TuiState, pane: PaneId, index: number): TuiState {
  const count = rowCount(state, pane)
  const next = {...state, cursor: {...state.cursor, [pane]: clamp(index, count)}}
  if (pane !== 'keys') return next
  const selectedKey = visibleKeys(state)[next.cursor.keys]?.key ?? null
  if (selectedKey === state.selectedKey) return next
  return {...next, selectedKey, cursor: {...next.cursor, versions: 0, instances: 0}}
}

function command(state: TuiState, cmd: Command): TuiState {
  switch (cmd.type) {
    case 'focus': {
      const focus = PANES[(PANES.indexOf(state.focus) + cmd.delta + PANES.length) % PANES.length]
      return {...state, focus, lower: focus === 'keys' ? state.lower : focus, message: null}
    }

    case 'move': {
      const overlay = state.overlay
      if (overlay?.kind === 'text') return {...state, overlay: {...overlay, scroll: clamp(overlay.scroll + cmd.delta, overlay.lines.length)}}
      if (overlay?.kind === 'pick-env') return {...state, overlay: {...overlay, cursor: clamp(overlay.cursor + cmd.delta, overlay.envs.length)}}
      return moveTo(state, state.focus, state.cursor[state.focus] + cmd.delta)
    }

    case 'first':
    case 'last': {
      const overlay = state.overlay
      if (overlay?.kind === 'text') return {...state, overlay: {...overlay, scroll: cmd.type === 'first' ? 0 : Math.max(0, overlay.lines.length - 1)}}
      if (overlay?.kind === 'pick-env') return {...state, overlay: {...overlay, cursor: cmd.type === 'first' ? 0 : overlay.envs.length - 1}}
      return moveTo(state, state.focus, cmd.type === 'first' ? 0 : rowCount(state, state.focus) - 1)
    }

    case 'close':
      if (state.overlay) return {...state, overlay: null}
      if (state.filter || state.filtering) return reselect({...state, filter: '', filtering: false})
      return {...state, message: null}

    case 'filter-start':
      return {...state, focus: 'keys', filtering: true, message: null}

    case 'filter-type':
      return reselect({...state, filter: state.filter + cmd.text, cursor: {...state.cursor, keys: 0}, selectedKey: null})

    case 'filter-erase':
      return reselect({...state, filter: [...state.filter].slice(0, -1).join('')})

    case 'filter-done':
      return {...state, filtering: false}

    case 'help':
      return {...state, overlay: {kind: 'help'}}

    case 'quit':
      return {...state, quit: true}
  }
}

function upsertKey(keys: KeyEntry[], key: string, meta: VersionMeta): KeyEntry[] {
  const entry = {key, ...meta}
  const index = keys.findIndex((k) => k.key === key)
  if (index !== -1) return keys.map((k, i) => (i === index ? entry : k))
  const at = keys.findIndex((k) => k.key.localeCompare(key) > 0)
  return at === -1 ? [...keys, entry] : [...keys.slice(0, at), entry, ...keys.slice(at)]
}

export function reducer(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case 'command':
      return command(state, action.command)

    case 'hello':
      return {...state, hello: action.hello, connection: 'live', connectionError: null}

    case 'zookeeper':
      return state.hello ? {...state, hello: {...state.hello, zookeeper: action.state}} : state

    case 'connection':
      return {...state, connection: action.state, connectionError: action.error ?? null}

    case 'snapshot': {
      const keys = [...action.keys].sort((a, b) => a.key.localeCompare(b.key))
      const audit = [...action.audit].reverse().slice(0, AUDIT_KEPT)
      return reselect({...state, loaded: true, keys, instances: action.instances, audit})
    }

    case 'change': {
      const next = reselect({...state, keys: upsertKey(state.keys, action.key, action.meta)})
      const history = next.history
      if (history?.key !== action.key || history.versions.some((v) => v.version === action.meta.version)) return next
      const versions = [action.meta, ...history.versions]
      // The cursor stays on the version it was on.
      const onVersions = next.selectedKey === action.key && next.cursor.versions > 0
      return {...next, history: {key: action.key, versions}, cursor: {...next.cursor, versions: next.cursor.versions + (onVersions ? 1 : 0)}}
    }

    case 'instances': {
      const next = {...state, instances: action.instances}
      return {...next, cursor: {...next.cursor, instances: clamp(next.cursor.instances, Math.max(1, rowCount(next, 'instances')))}}
    }

    case 'audit': {
      const audit = [action.entry, ...state.audit].slice(0, AUDIT_KEPT)
      // Reading older entries: keep them under the cursor while new ones arrive on top.
      const shift = state.cursor.activity > 0 ? 1 : 0
      return {...state, audit, cursor: {...state.cursor, activity: Math.min(state.cursor.activity + shift, audit.length - 1)}}
    }

    case 'history':
      if (action.key !== state.selectedKey) return state
      return {...state, history: {key: action.key, versions: action.versions}, cursor: {...state.cursor, versions: clamp(state.cursor.versions, Math.max(1, action.versions.length))}}

    case 'env':
      return {...initialState(state.server, action.env), focus: state.focus, lower: state.lower, hello: state.hello, connection: 'connecting'}

    case 'overlay':
      return {...state, overlay: action.overlay}

    case 'message':
      return {...state, message: action.message}
  }
}
