// A node:test reporter that ends the run with one line, e.g. `suite: 312 s (250 tests)`, so CI shows
// how long the suite took (issue 8). It reads the runner's own closing counts; the figures it prints
// are never asserted anywhere. STCONF_SUITE_NAME names the run (default "suite").
// Plain JavaScript: the runner loads reporters before `--import tsx` could compile TypeScript for it.

/** @param {AsyncIterable<{type: string, data: {message?: string}}>} source */
export default async function* suiteTime(source) {
  /** @type {Record<string, number>} */
  const counts = {}
  for await (const event of source) {
    if (event.type !== 'test:diagnostic') continue
    const match = /^(tests|fail|cancelled|duration_ms) ([\d.]+)$/.exec(event.data.message ?? '')
    if (match) counts[match[1]] = Number(match[2])
  }

  const failed = (counts.fail ?? 0) + (counts.cancelled ?? 0)
  const seconds = Math.round((counts.duration_ms ?? 0) / 1000)
  yield `${process.env.STCONF_SUITE_NAME || 'suite'}: ${seconds} s (${counts.tests ?? 0} tests${failed ? `, ${failed} failed` : ''})\n`
}
