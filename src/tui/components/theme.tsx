// Colours follow status (ok green, pending yellow, failed red, offline dim) and are switched off by
// NO_COLOR; every state is also spelled out in text, so nothing is said by colour alone.
import {Text} from 'ink'
import {createContext, useContext, type ReactNode} from 'react'
import type {Tone} from '../format.js'

export const ColorContext = createContext(true)

const COLORS: Partial<Record<Tone, string>> = {ok: 'green', pending: 'yellow', failed: 'red', add: 'green', del: 'red', hunk: 'cyan', accent: 'cyan'}

export interface Segment {
  text: string
  tone?: Tone
  bold?: boolean
}

export function Painted({tone, bold, inverse, children}: {tone?: Tone; bold?: boolean; inverse?: boolean; children: ReactNode}) {
  const colors = useContext(ColorContext)
  const color = colors && tone ? COLORS[tone] : undefined
  const dim = tone === 'offline' || tone === 'dim'
  return (
    <Text color={color} dimColor={dim && !inverse} bold={bold || tone === 'meta'} inverse={inverse}>
      {children}
    </Text>
  )
}

/** One screen row of fixed-width segments, cut at the pane's edge. */
export function Row({segments, selected}: {segments: Segment[]; selected?: boolean}) {
  return (
    <Text wrap="truncate" inverse={selected}>
      {segments.map((segment, i) => (
        <Painted key={i} tone={segment.tone} bold={segment.bold} inverse={selected}>
          {segment.text}
        </Painted>
      ))}
    </Text>
  )
}
