// A pane: a box whose top border carries the title ("┌ Keys ───┐"); the focused one is drawn bold
// (┏━┓), which reads without colour too.
import {Box, Text} from 'ink'
import {useContext, type ReactNode} from 'react'
import {fit} from '../format.js'
import {ColorContext} from './theme.js'

export function Frame({title, width, height, focused, children}: {title: string; width: number; height: number; focused: boolean; children: ReactNode}) {
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
      <Box
        flexDirection="column"
        width={width}
        height={Math.max(1, height - 1)}
        borderStyle={focused ? 'bold' : 'single'}
        borderTop={false}
        borderColor={color}
        overflow="hidden"
      >
        {children}
      </Box>
    </Box>
  )
}
