import {useStdout} from 'ink'
import {useEffect, useState} from 'react'

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

/** The time ages are shown against; ticks every `everyMs` (seldom: idle means no redraws). */
export function useClock(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [everyMs])
  return now
}
