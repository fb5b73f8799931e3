// The four panes. Presentational: props in, rows out; each renders only the rows that fit.
import {Text} from 'ink'
import type {AuditEntry, KeyEntry} from '../../lib/client/api-client.js'
import type {VersionMeta} from '../../lib/model.js'
import type {InstanceView} from '../../lib/fleet.js'
import {fileState, fit, fitLeft, formatAge, formatBadge, formatClock, toneOfState, windowStart, type FleetStats} from '../format.js'
import {Frame} from './frame.js'
import {Painted, Row, type Segment} from './theme.js'

interface PaneBox {
  width: number
  height: number
  focused: boolean
}

/** Inner size of a pane of this outer size (border and title take two rows, two columns). */
const inner = ({width, height}: Pick<PaneBox, 'width' | 'height'>) => ({cols: Math.max(1, width - 2), rows: Math.max(1, height - 2)})

function Placeholder({text}: {text: string}) {
  return (
    <Text wrap="truncate" dimColor>
      {` ${text}`}
    </Text>
  )
}

function windowOf<T>(items: T[], cursor: number, rows: number): {start: number; shown: T[]} {
  const start = windowStart(cursor, items.length, rows)
  return {start, shown: items.slice(start, start + rows)}
}

// The rows each pane shows, for the pane and for the clock (which redraws only when a shown age changes).
export const keysWindow = (box: Pick<PaneBox, 'width' | 'height'>, keys: KeyEntry[], cursor: number, showFilter: boolean) => windowOf(keys, cursor, inner(box).rows - (showFilter ? 1 : 0))
export const versionsWindow = (box: Pick<PaneBox, 'width' | 'height'>, versions: VersionMeta[] | null, cursor: number) => windowOf(versions ?? [], cursor, inner(box).rows)
export const instancesWindow = <T,>(box: Pick<PaneBox, 'width' | 'height'>, rows: T[], cursor: number) => windowOf(rows, cursor, inner(box).rows - 1) // under a header row

export function KeysPane(props: PaneBox & {keys: KeyEntry[]; total: number; cursor: number; filter: string; filtering: boolean; fleet: Map<string, FleetStats>; now: number; loaded: boolean}) {
  const {cols} = inner(props)
  const showFilter = props.filtering || props.filter !== ''
  const {start, shown} = keysWindow(props, props.keys, props.cursor, showFilter)
  const nameWidth = Math.max(8, cols - 2 - 6 - 5 - 11)
  const title = `Keys ${props.filter ? `${props.keys.length}/${props.total}` : props.total}`
  return (
    <Frame
      title={title}
      width={props.width}
      height={props.height}
      focused={props.focused}
      lines={[
        showFilter && (
          <Text wrap="truncate">
            <Painted tone="accent">{' / '}</Painted>
            {props.filter}
            {props.filtering ? '▏' : ''}
          </Text>
        ),
        !props.loaded && <Placeholder text="loading…" />,
        props.loaded && props.keys.length === 0 && <Placeholder text={props.filter ? 'no key matches the filter (esc clears it)' : 'no keys in this env yet: stconf push <key>'} />,
      ]
        .filter(Boolean)
        .concat(shown.map((entry, i) => {
        const selected = start + i === props.cursor
        const badge = formatBadge(props.fleet.get(entry.key))
        const segments: Segment[] = [
          {text: selected ? '▸' : ' '},
          {text: fitLeft(entry.key, nameWidth)},
          {text: ` ${fit(`v${entry.version}`, 5)}`},
          {text: ` ${fit(formatAge(entry.time, props.now), 4)}`},
          {text: ` ${fit(badge.text, 10)}`, tone: badge.tone},
        ]
        return <Row segments={segments} selected={selected && props.focused} />
      }))}
    />
  )
}

export function VersionsPane(props: PaneBox & {selectedKey: string | null; versions: VersionMeta[] | null; cursor: number; now: number}) {
  const {cols} = inner(props)
  const {start, shown} = versionsWindow(props, props.versions, props.cursor)
  const title = props.selectedKey ? `Versions · ${props.selectedKey}` : 'Versions'
  return (
    <Frame
      title={title}
      width={props.width}
      height={props.height}
      focused={props.focused}
      lines={[!props.selectedKey && <Placeholder text="no key selected" />, props.selectedKey && !props.versions && <Placeholder text="loading…" />]
        .filter(Boolean)
        .concat(shown.map((v, i) => {
        const selected = start + i === props.cursor
        const segments: Segment[] = [
          {text: selected ? '▸' : ' '},
          {text: fit(`v${v.version}`, 6)},
          {text: fit(v.kind, 12), tone: v.kind === 'push' ? undefined : 'pending'},
          {text: fit(v.author, 10)},
          {text: ` ${fit(formatAge(v.time, props.now), 5)}`},
          {text: fit(v.message, Math.max(0, cols - 35))},
        ]
        return <Row segments={segments} selected={selected && props.focused} />
      }))}
    />
  )
}

export function InstancesPane(props: PaneBox & {selectedKey: string | null; rows: Array<{instance: InstanceView; file: InstanceView['files'][number]}>; cursor: number; now: number}) {
  const {cols} = inner(props)
  const {start, shown} = instancesWindow(props, props.rows, props.cursor)
  const hostWidth = Math.min(24, Math.max(10, Math.floor(cols / 5)))
  const title = props.selectedKey ? `Instances · ${props.selectedKey} · ${props.rows.length}` : 'Instances'
  return (
    <Frame
      title={title}
      width={props.width}
      height={props.height}
      focused={props.focused}
      lines={[
        <Row segments={[{text: ` ${fit('host', hostWidth)} ${fit('version', 8)}${fit('status', 15)}${fit('sync', 8)}${fit('seen', 14)}error`, tone: 'dim'}]} />,
        props.rows.length === 0 && <Placeholder text={props.selectedKey ? 'no instance follows this key' : ''} />,
      ]
        .filter(Boolean)
        .concat(shown.map(({instance, file}, i) => {
        const selected = start + i === props.cursor
        const state = fileState(instance, file)
        const status = state === 'offline' ? 'offline' : file.status
        const error = file.error ?? (state === 'offline' ? `last seen ${formatClock(instance.lastSeen)}` : '')
        const segments: Segment[] = [
          {text: selected ? '▸' : ' '},
          {text: `${fitLeft(instance.host, hostWidth)} `},
          {text: fit(file.version === null ? '-' : `v${file.version}`, 8)},
          {text: fit(status, 15), tone: toneOfState(state === 'ok' ? 'ok' : state === 'offline' ? 'offline' : status === 'pending' ? 'pending' : state)},
          {text: fit(file.inSync ? 'yes' : 'behind', 8), tone: file.inSync ? undefined : 'pending'},
          {text: fit(instance.online ? `${formatAge(file.appliedAt, props.now)}` : `off ${formatAge(instance.lastSeen, props.now)}`, 14)},
          {text: fit(error, Math.max(0, cols - hostWidth - 47)), tone: file.error ? 'failed' : 'dim'},
        ]
        return <Row segments={segments} selected={selected && props.focused} />
      }))}
    />
  )
}

export function ActivityPane(props: PaneBox & {entries: AuditEntry[]; cursor: number}) {
  const {cols, rows} = inner(props)
  const {start, shown} = windowOf(props.entries, props.cursor, rows)
  return (
    <Frame
      title="Activity"
      width={props.width}
      height={props.height}
      focused={props.focused}
      lines={[props.entries.length === 0 && <Placeholder text="nothing yet" />].filter(Boolean).concat(shown.map((entry, i) => {
        const selected = start + i === props.cursor
        const where = entry.key ? `${entry.env ? `${entry.env}/` : ''}${entry.key}${entry.version ? ` v${entry.version}` : ''}` : (entry.env ?? '')
        const tone = /fail/.test(entry.action) ? 'failed' : entry.action === 'rollback' || entry.action.startsWith('out-of-band') ? 'pending' : undefined
        const segments: Segment[] = [
          {text: selected ? '▸' : ' '},
          {text: `${formatClock(entry.time)}  `},
          {text: fit(entry.actor, 10)},
          {text: fit(entry.action, 15), tone},
          {text: fit(where, Math.min(40, Math.max(10, Math.floor(cols / 3))))},
          {text: ` ${entry.detail ?? ''}`},
        ]
        return <Row segments={segments} selected={selected && props.focused} />
      }))}
    />
  )
}
