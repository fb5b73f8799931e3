// Server-Sent Events framing (the WHATWG "event stream" format), without the transport: bytes in,
// whole events out. Kept apart from the HTTP client so it is tested on its own.

export interface SseEvent {
  event: string
  data: string
  id?: string
}

export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []
  private id?: string
  private readonly decoder = new TextDecoder()

  /** Feed a chunk; returns the events it completed. Comment lines (": ping") complete nothing. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, {stream: true})
    const out: SseEvent[] = []
    let newline: number
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, newline)
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1
      // A lone \r at the chunk's end may be the first half of \r\n: wait for more.
      if (width === 1 && this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break
      this.buffer = this.buffer.slice(newline + width)
      const event = this.line(line)
      if (event) out.push(event)
    }

    return out
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = ''
        return undefined
      }

      const event: SseEvent = {event: this.event || 'message', data: this.data.join('\n'), ...(this.id === undefined ? {} : {id: this.id})}
      this.event = ''
      this.data = []
      return event
    }

    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.id = value
    return undefined
  }
}
