// For unit tests on a mock clock: whether a promise has settled, without waiting for real time.

/** Whether `promise` has settled once the callbacks queued so far (microtasks, then one macrotask turn) have run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(
    () => (done = true),
    () => (done = true),
  )
  await new Promise<void>((resolve) => setImmediate(resolve))
  return done
}
