// One clock for every context of the browser: the wall-clock time of the page's origin plus
// its monotonic clock, so a time taken in the sending context and one taken in the receiving
// context can be subtracted (they share the machine's clock; each page's own performance.now()
// starts at its own navigation).
export const now = () => performance.timeOrigin + performance.now()

/** `size` random bytes (getRandomValues fills at most 64 KiB a call). */
export function randomBytes(size) {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536))
  return data
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')
}
