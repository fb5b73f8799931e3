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

/** Neighbours with the same look become one text: Ink's cost per frame grows with its text nodes. */
function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = []
  for (const segment of segments) {
    const last = out.at(-1)
    if (last && last.tone === segment.tone && last.bold === segment.bold) out[out.length - 1] = {...last, text: last.text + segment.text}
    else out.push(segment)
  }

  return out
}

/** One screen row of fixed-width segments, cut at the pane's edge. */
export function Row({segments, selected}: {segments: Segment[]; selected?: boolean}) {
  return (
    <Text wrap="truncate" inverse={selected}>
      {merge(segments).map((segment, i) => (
        <Painted key={i} tone={segment.tone} bold={segment.bold} inverse={selected}>
          {segment.text}
        </Painted>
      ))}
    </Text>
  )
}
