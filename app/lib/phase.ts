// How each phase of a torrent is named and coloured in the views.
import type { Phase } from './torrents.svelte.ts'

export const PHASE_LABEL: Record<Phase, string> = {
  hashing: 'Hashing',
  metadata: 'Finding peers',
  downloading: 'Downloading',
  seeding: 'Seeding',
  failed: 'Failed',
}

export type Tone = 'neutral' | 'accent' | 'ok' | 'danger'

export const PHASE_TONE: Record<Phase, Tone> = {
  hashing: 'neutral',
  metadata: 'neutral',
  downloading: 'accent',
  seeding: 'ok',
  failed: 'danger',
}
