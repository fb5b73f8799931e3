// The whole screen, from the store and the terminal's size. At 100x28 and more: Keys and Versions
// side by side, Instances and Activity below. Smaller (80x24): Keys on top, one other pane below,
// the focused one (tab chooses).
import {Box} from 'ink'
import {hintsFor, contextOf} from '../keymap.js'
import {instancesOf, visibleKeys, type PaneId, type TuiState} from '../state.js'
import type {FleetStats} from '../format.js'
import {Banner, Header, HintBar} from './chrome.js'
import {Dialog} from './dialogs.js'
import {ActivityPane, InstancesPane, KeysPane, VersionsPane, instancesWindow, keysWindow, versionsWindow} from './panes.js'

export interface ScreenProps {
  state: TuiState
  fleet: Map<string, FleetStats>
  cols: number
  rows: number
  now: number
}

export function layoutFor(cols: number, rows: number): {wide: boolean; body: number} {
  return {wide: cols >= 100 && rows >= 28, body: Math.max(4, rows)}
}

type PaneSize = {width: number; height: number}

/** Where the panes go: the outer size of each pane on screen (none while a dialog covers them). */
export function paneSizes(state: TuiState, cols: number, rows: number): Partial<Record<PaneId, PaneSize>> {
  if (state.overlay) return {}
  const body = bodyHeight(state, rows)
  if (layoutFor(cols, rows).wide) {
    const top = Math.floor(body * 0.45)
    const middle = Math.floor((body - top) / 2)
    const keysWidth = Math.floor(cols * 0.45)
    return {keys: {width: keysWidth, height: top}, versions: {width: cols - keysWidth, height: top}, instances: {width: cols, height: middle}, activity: {width: cols, height: body - top - middle}}
  }

  const top = Math.floor(body / 2)
  return {keys: {width: cols, height: top}, [state.lower]: {width: cols, height: body - top}}
}

// One row less than the terminal: Ink redraws everything when a frame is as tall as the screen.
const screenHeight = (rows: number) => Math.max(6, rows - 1)
const bodyHeight = (state: TuiState, rows: number) => screenHeight(rows) - 2 - (state.connection === 'retrying' ? 1 : 0)
const shownVersions = (state: TuiState) => (state.history?.key === state.selectedKey ? state.history.versions : null)

/** The times whose ages are on screen now (the clock redraws only when one of their texts changes). */
export function shownAgeTimes(state: TuiState, cols: number, rows: number): Array<string | null> {
  const sizes = paneSizes(state, cols, rows)
  const times: Array<string | null> = []
  if (sizes.keys) for (const k of keysWindow(sizes.keys, visibleKeys(state), state.cursor.keys, state.filtering || state.filter !== '').shown) times.push(k.time)
  if (sizes.versions) for (const v of versionsWindow(sizes.versions, shownVersions(state), state.cursor.versions).shown) times.push(v.time)
  if (sizes.instances) {
    for (const {instance, file} of instancesWindow(sizes.instances, instancesOf(state, state.selectedKey), state.cursor.instances).shown) times.push(instance.online ? file.appliedAt : instance.lastSeen)
  }

  return times
}

export function Screen({state, fleet, cols, rows, now}: ScreenProps) {
  const retrying = state.connection === 'retrying'
  const height = screenHeight(rows)
  const body = bodyHeight(state, rows)
  const sizes = paneSizes(state, cols, rows)
  const keys = visibleKeys(state)
  const instanceRows = instancesOf(state, state.selectedKey)
  const hosts = new Set(state.instances.map((i) => i.host)).size
  let failing = 0
  for (const stats of fleet.values()) failing += stats.failed
  const versions = shownVersions(state)

  const pane = (id: PaneId) => {
    const box = {...sizes[id]!, focused: state.focus === id && !state.overlay}
    if (id === 'keys') {
      return <KeysPane key={id} {...box} keys={keys} total={state.keys.length} cursor={state.cursor.keys} filter={state.filter} filtering={state.filtering} fleet={fleet} now={now} loaded={state.loaded} />
    }

    if (id === 'versions') return <VersionsPane key={id} {...box} selectedKey={state.selectedKey} versions={versions} cursor={state.cursor.versions} now={now} />
    if (id === 'instances') return <InstancesPane key={id} {...box} selectedKey={state.selectedKey} rows={instanceRows} cursor={state.cursor.instances} now={now} />
    return <ActivityPane key={id} {...box} entries={state.audit} cursor={state.cursor.activity} />
  }

  let main
  if (state.overlay) {
    main = <Dialog overlay={state.overlay} width={cols} height={body} />
  } else if (layoutFor(cols, rows).wide) {
    main = (
      <Box flexDirection="column" width={cols} height={body}>
        <Box flexDirection="row" width={cols} height={sizes.keys!.height}>
          {pane('keys')}
          {pane('versions')}
        </Box>
        {pane('instances')}
        {pane('activity')}
      </Box>
    )
  } else {
    main = (
      <Box flexDirection="column" width={cols} height={body}>
        {pane('keys')}
        {pane(state.lower)}
      </Box>
    )
  }

  return (
    <Box flexDirection="column" width={cols} height={height}>
      <Header width={cols} server={state.server} env={state.env} hello={state.hello} keys={state.keys.length} hosts={hosts} failing={failing} live={state.connection === 'live'} />
      {retrying && <Banner width={cols} error={state.connectionError} />}
      {main}
      <HintBar width={cols} hints={hintsFor(contextOf(state))} message={state.message} />
    </Box>
  )
}
