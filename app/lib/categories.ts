// Listing categories as people read them, and a first guess from the files being shared.

import { CATEGORIES, type Category } from '../../shared/listing.ts'

export { CATEGORIES, type Category }

export const CATEGORY_LABEL: Record<Category, string> = {
  movie: 'Movies',
  music: 'Music',
  game: 'Games',
  application: 'Applications',
  book: 'Books',
  misc: 'Other',
}

/** One item of a category, for a select ("Movie", not "Movies"). */
export const CATEGORY_SINGULAR: Record<Category, string> = {
  movie: 'Movie',
  music: 'Music',
  game: 'Game',
  application: 'Application',
  book: 'Book',
  misc: 'Other',
}

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value)
}

const BY_EXTENSION: Record<string, Category> = {}
const EXTENSIONS: [Category, string[]][] = [
  ['movie', ['mkv', 'mp4', 'm4v', 'avi', 'mov', 'webm', 'wmv', 'mpg', 'mpeg', 'ts', 'ogv']],
  ['music', ['mp3', 'flac', 'ogg', 'oga', 'opus', 'wav', 'm4a', 'aac', 'wma', 'aiff', 'alac']],
  ['book', ['pdf', 'epub', 'mobi', 'azw3', 'djvu', 'cbz', 'cbr', 'fb2']],
  [
    'application',
    ['exe', 'msi', 'dmg', 'pkg', 'deb', 'rpm', 'apk', 'appimage', 'flatpak', 'snap', 'iso'],
  ],
]
for (const [category, extensions] of EXTENSIONS) {
  for (const ext of extensions) BY_EXTENSION[ext] = category
}

/**
 * The category most of the bytes point to, by file extension; `misc` when nothing is
 * recognised. Games cannot be told from their files: the user picks that one.
 */
export function guessCategory(files: readonly { name: string; size: number }[]): Category {
  const weight = new Map<Category, number>()
  for (const file of files) {
    const dot = file.name.lastIndexOf('.')
    const category = dot > 0 ? BY_EXTENSION[file.name.slice(dot + 1).toLowerCase()] : undefined
    if (category) weight.set(category, (weight.get(category) ?? 0) + Math.max(1, file.size))
  }
  let best: Category = 'misc'
  let most = 0
  for (const [category, w] of weight) {
    if (w > most) [best, most] = [category, w]
  }
  return best
}
