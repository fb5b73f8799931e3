import {useStdout} from 'ink'
import {useEffect, useState} from 'react'
import {nextAgeChange} from '../format.js'

/** The terminal's size, following resizes. */
export function useTerminalSize(): {cols: number; rows: number} {
  const {stdout} = useStdout()
  const read = () => ({cols: stdout.columns || 80, rows: stdout.rows || 24})
  const [size, setSize] = useState(read)
  useEffect(() => {
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout])
  return size
}

/**
 * The time ages are shown against. It moves (one frame) only when one of the shown ages would read
 * differently, and at most every `floorMs`: minutes-old ages redraw once a minute, nothing older than a
 * day about once an hour, and an idle screen of old data not at all in between.
 */
export function useAgeClock(times: Array<string | null>, floorMs: number): number {
  const [now, setNow] = useState(() => Date.now())
  const shown = times.join('|')
  useEffect(() => {
    const due = now + Math.max(floorMs, nextAgeChange(times, now))
    if (!Number.isFinite(due)) return
    const timer = setTimeout(() => setNow(Date.now()), Math.max(0, due - Date.now()))
    return () => clearTimeout(timer)
  }, [now, shown, floorMs]) // `shown` stands for `times`, a new array each render
  return now
}
