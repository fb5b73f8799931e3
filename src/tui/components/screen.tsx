// The whole screen, from the store and the terminal's size. At 100x28 and more: Keys and Versions
// side by side, Instances and Activity below. Smaller (80x24): Keys on top, one other pane below,
// the focused one (tab chooses).
import {Box} from 'ink'
import {hintsFor, contextOf} from '../keymap.js'
import {instancesOf, visibleKeys, type PaneId, type TuiState} from '../state.js'
import type {FleetStats} from '../format.js'
import {Banner, Header, HintBar} from './chrome.js'
import {Dialog} from './dialogs.js'
import {ActivityPane, InstancesPane, KeysPane, VersionsPane} from './panes.js'

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

export function Screen({state, fleet, cols, rows, now}: ScreenProps) {
  const retrying = state.connection === 'retrying'
  // One row less than the terminal: Ink redraws everything when a frame is as tall as the screen.
  const height = Math.max(6, rows - 1)
  const body = height - 2 - (retrying ? 1 : 0)
  const {wide} = layoutFor(cols, rows)
  const keys = visibleKeys(state)
  const instanceRows = instancesOf(state, state.selectedKey)
  const hosts = new Set(state.instances.map((i) => i.host)).size
  let failing = 0
  for (const stats of fleet.values()) failing += stats.failed
  const versions = state.history?.key === state.selectedKey ? state.history.versions : null

  const pane = (id: PaneId, width: number, paneHeight: number) => {
    const box = {width, height: paneHeight, focused: state.focus === id && !state.overlay}
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
  } else if (wide) {
    const top = Math.floor(body * 0.45)
    const middle = Math.floor((body - top) / 2)
    const keysWidth = Math.floor(cols * 0.45)
    main = (
      <Box flexDirection="column" width={cols} height={body}>
        <Box flexDirection="row" width={cols} height={top}>
          {pane('keys', keysWidth, top)}
          {pane('versions', cols - keysWidth, top)}
        </Box>
        {pane('instances', cols, middle)}
        {pane('activity', cols, body - top - middle)}
      </Box>
    )
  } else {
    const top = Math.floor(body / 2)
    main = (
      <Box flexDirection="column" width={cols} height={body}>
        {pane('keys', cols, top)}
        {pane(state.lower, cols, body - top)}
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
