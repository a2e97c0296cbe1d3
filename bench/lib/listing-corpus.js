// A word-like catalog for the catalog benchmarks (catalog-browser, catalog-index): a seeded
// PRNG, a vocabulary drawn with a Zipf-like skew as real titles are, and listing drafts with
// names and descriptions made of it. Deterministic, so every run measures the same catalog.

/** A small deterministic PRNG (mulberry32), so every run measures the same catalog. */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 4,000 word-like terms (some accented), drawn with a Zipf-like skew as real titles are. */
export function vocabulary(random) {
  const onsets = ['b', 'c', 'd', 'f', 'g', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'tr', 'st', 'br']
  const vowels = ['a', 'e', 'i', 'o', 'u', 'é', 'è', 'ö', 'ü', 'ã', 'ou', 'ai']
  const codas = ['', '', 'n', 'r', 's', 'l', 'x', 'nd', 'rt']
  const words = new Set()
  while (words.size < 4000) {
    let w = ''
    const syllables = 1 + Math.floor(random() * 3)
    for (let s = 0; s < syllables; s++) {
      w += onsets[Math.floor(random() * onsets.length)]
      w += vowels[Math.floor(random() * (random() < 0.8 ? 5 : vowels.length))]
      w += codas[Math.floor(random() * codas.length)]
    }
    words.add(w)
  }
  return [...words]
}

/** An index in [0, n) drawn with a Zipf-like skew: low indices far more often. */
export const zipf = (random, n) => Math.min(n - 1, Math.floor(n ** random() - 1))

/** The draft of listing `i`: a title of 2-6 words (a year and a format tag sometimes, and
 * `#i` so names differ), a description of up to 15 words, a size, 1-3 files, a category
 * (from `categories`: shared/listing.ts CATEGORIES). */
export function draftAt(i, random, words, categories) {
  const pick = () => words[zipf(random, words.length)]
  const title = Array.from({ length: 2 + Math.floor(random() * 5) }, pick)
  title[0] = title[0][0].toUpperCase() + title[0].slice(1)
  const extras = ['1080p', '720p', 'FLAC', 'EPUB', 'x64', 'Remastered', 'Complete', 'Vol. 2']
  if (random() < 0.5) title.push(`(${1960 + Math.floor(random() * 65)})`)
  if (random() < 0.4) title.push(extras[Math.floor(random() * extras.length)])
  const description = Array.from({ length: Math.floor(random() * 16) }, pick).join(' ')
  const size = Math.floor(2 ** (20 + random() * 16))
  const files = 1 + Math.floor(random() * 3)
  return {
    infoHash: (i.toString(16) + 'cafe').padStart(40, '0'),
    name: `${title.join(' ')} #${i}`,
    size,
    files,
    category: categories[Math.floor(random() * categories.length)],
    description,
    fileList: Array.from({ length: files }, (_, f) => ({
      path: `release-${i}/part-${f + 1}.bin`,
      size: Math.floor(size / files),
    })),
  }
}
