// A pane: a box whose top border carries the title ("┌ Keys ───┐"); the focused one is drawn bold
// (┏━┓), which reads without colour too.
import {Box, Text} from 'ink'
import {useContext, type ReactNode} from 'react'
import {fit} from '../format.js'
import {ColorContext} from './theme.js'

/**
 * `lines` are the pane's rows, top to bottom. There are always exactly as many rows as fit, keyed by
 * position: rows are updated in place, never removed (a removed row could leave a blank line behind
 * in Ink's output), and nothing below the last one is drawn.
 */
export function Frame({title, width, height, focused, lines}: {title: string; width: number; height: number; focused: boolean; lines: ReactNode[]}) {
  const rows = Math.max(1, height - 2)
  const shown = Array.from({length: rows}, (_, i) => lines[i] ?? <Text> </Text>)
  const colors = useContext(ColorContext)
  const [corner, line, end] = focused ? ['┏', '━', '┓'] : ['┌', '─', '┐']
  const room = Math.max(0, width - 3)
  const label = [...` ${title} `].length > room ? fit(` ${title}`, room) : ` ${title} `
  const top = `${corner}${line}${label}${line.repeat(Math.max(0, width - 3 - [...label].length))}${end}`
  const color = colors && focused ? 'cyan' : undefined
  return (
    <Box flexDirection="column" width={width} height={height} flexShrink={0}>
      <Text color={color} bold={focused} wrap="truncate">
        {top}
      </Text>
      {/* Keyed by focus: Ink does not re-apply borderTop={false} when only the border style changes. */}
      <Box
        key={focused ? 'focused' : 'plain'}
        flexDirection="column"
        width={width}
        height={Math.max(1, height - 1)}
        borderStyle={focused ? 'bold' : 'single'}
        borderTop={false}
        borderColor={color}
        overflow="hidden"
      >
        {shown.map((line, i) => (
          <Box key={i} height={1} width={Math.max(1, width - 2)} overflow="hidden">
            {line}
          </Box>
        ))}
      </Box>
    </Box>
  )
}
