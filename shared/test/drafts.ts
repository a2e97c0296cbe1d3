// A plain listing draft numbered `i` (one file, no description), for tests that need many
// distinct, valid drafts and nothing else of them.

import type { ListingDraft } from '../listing.ts'

export function numberedDraft(i: number): ListingDraft {
  return {
    infoHash: i.toString(16).padStart(40, '0'),
    name: `Item ${i}`,
    size: i,
    files: 1,
    category: 'misc',
    description: '',
    fileList: [],
  }
}
