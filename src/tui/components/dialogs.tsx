// Dialogs drawn in the middle of the screen in place of the panes: help, a text view (content,
// diff), the roll-back confirmation and the env picker.
import {Box, Text} from 'ink'
import {Spinner} from '@inkjs/ui'
import {BINDINGS, type Context} from '../keymap.js'
import {fit, windowStart, type Line} from '../format.js'
import type {Overlay} from '../state.js'
import {Painted} from './theme.js'

const KEY_LABELS: Record<string, string> = {up: '↑', down: '↓', enter: 'enter', esc: 'esc', tab: 'tab', 'shift+tab': 'shift+tab', pageup: 'pgup', pagedown: 'pgdn', backspace: 'backspace', 'ctrl+c': 'ctrl+c'}

function where(contexts: readonly Context[]): string {
  const panes = ['keys', 'versions', 'instances', 'activity'].filter((p) => contexts.includes(p as Context))
  const rest = contexts.filter((c) => !['keys', 'versions', 'instances', 'activity'].includes(c))
  return [panes.length === 4 ? 'any pane' : panes.join(', '), ...rest.map((c) => (c === 'text' ? 'views' : c === 'pick-env' ? 'picker' : c))].filter(Boolean).join(', ')
}

/** The `?` help: generated from the key map, so it cannot drift from what the keys do. */
export function helpLines(): Line[] {
  return BINDINGS.map((b) => ({text: `${fit(b.keys.map((k) => KEY_LABELS[k] ?? k).join(' '), 12)} ${fit(b.help, 66)} ${where(b.contexts)}`}))
}

function Box_({width, height, title, children}: {width: number; height: number; title: string; children: React.ReactNode}) {
  return (
    <Box width={width} height={height} flexDirection="column" alignItems="center" justifyContent="center">
      <Box flexDirection="column" borderStyle="round" width={Math.min(width, 110)} paddingX={1}>
        <Text bold wrap="truncate">
          {title}
        </Text>
        {children}
      </Box>
    </Box>
  )
}

function Lines({lines, scroll, rows, cols}: {lines: Line[]; scroll: number; rows: number; cols: number}) {
  const start = Math.min(scroll, Math.max(0, lines.length - rows))
  return (
    <>
      {lines.slice(start, start + rows).map((line, i) => (
        <Text key={start + i} wrap="truncate">
          <Painted tone={line.tone}>{fit(line.text, cols)}</Painted>
        </Text>
      ))}
    </>
  )
}

export function Dialog({overlay, width, height}: {overlay: Overlay; width: number; height: number}) {
  const cols = Math.min(width, 110) - 4
  const rows = Math.max(1, height - 5)
  switch (overlay.kind) {
    case 'help':
      return (
        <Box_ width={width} height={height} title="Keys (esc closes)">
          <Lines lines={helpLines()} scroll={0} rows={rows} cols={cols} />
        </Box_>
      )
    case 'text': {
      const more = overlay.lines.length > rows ? ` · line ${Math.min(overlay.scroll, overlay.lines.length - rows) + 1}-${Math.min(overlay.lines.length, Math.min(overlay.scroll, overlay.lines.length - rows) + rows)} of ${overlay.lines.length}` : ''
      return (
        <Box_ width={width} height={height} title={`${overlay.title}${more}`}>
          <Lines lines={overlay.lines} scroll={overlay.scroll} rows={rows} cols={cols} />
        </Box_>
      )
    }

    case 'confirm': {
      const shown = rows - 2
      const hidden = Math.max(0, overlay.lines.length - shown)
      return (
        <Box_ width={width} height={height} title={`Roll back ${overlay.key} in ${overlay.env}: this diff will be published`}>
          <Lines lines={overlay.lines.slice(0, hidden > 0 ? shown - 1 : shown)} scroll={0} rows={shown} cols={cols} />
          {hidden > 0 && <Text dimColor>{`… ${hidden + 1} more lines`}</Text>}
          <Text> </Text>
          <Text bold wrap="truncate">
            {`Roll back ${overlay.key} in ${overlay.env} to version ${overlay.version}? (y/N)`}
          </Text>
        </Box_>
      )
    }

    case 'pick-env': {
      const start = windowStart(overlay.cursor, overlay.envs.length, rows)
      return (
        <Box_ width={width} height={height} title={overlay.purpose === 'switch' ? 'Switch to env (enter picks, esc cancels)' : `Diff ${overlay.key} against env (enter picks)`}>
          {overlay.envs.slice(start, start + rows).map((env, i) => (
            <Text key={env} inverse={start + i === overlay.cursor} wrap="truncate">
              {`${start + i === overlay.cursor ? '▸' : ' '} ${env}`}
            </Text>
          ))}
        </Box_>
      )
    }

    case 'busy':
      return (
        <Box_ width={width} height={height} title={overlay.title}>
          <Spinner label="reading from the center…" />
        </Box_>
      )
  }
}
