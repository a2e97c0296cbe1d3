// Figures as people read them: binary sizes (KiB, MiB), speeds, and time left.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`
}

/** Milliseconds left as "1 h 5 min", "3 min 20 s", "12 s"; unknown when not finite. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min ${s % 60} s`
  const h = Math.floor(min / 60)
  if (h < 48) return `${h} h ${min % 60} min`
  return `${Math.floor(h / 24)} days`
}

export function formatPercent(fraction: number): string {
  const pct = Math.max(0, Math.min(1, fraction)) * 100
  // Never round an unfinished transfer up to 100 %.
  return `${fraction < 1 ? Math.min(99.9, pct).toFixed(1) : '100'} %`
}

const COUNT = new Intl.NumberFormat('en-US')

/** Whole numbers with thousands separators: 12,345. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? COUNT.format(n) : '—'
}

/** A Unix time in seconds as a short relative age ("5 min ago", "3 days ago"), or as a
 * date once it is over a month old. Times in the future (clock skew) read "just now". */
export function formatAge(unixSeconds: number, nowMs: number = Date.now()): string {
  const s = Math.floor(nowMs / 1000) - unixSeconds
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  const days = Math.floor(s / 86_400)
  if (days < 31) return days === 1 ? 'yesterday' : `${days} days ago`
  return formatDay(unixSeconds)
}

/** A Unix time in seconds as `YYYY-MM-DD` (local time): short, and sorts as it reads. */
export function formatDay(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** A Unix time in seconds in full, for titles and details. */
export function formatDateTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'short',
  })
}

/** A public key as people compare them: first and last few hex digits. */
export function shortKey(hex: string): string {
  return hex.length <= 16 ? hex : `${hex.slice(0, 8)}…${hex.slice(-6)}`
}
