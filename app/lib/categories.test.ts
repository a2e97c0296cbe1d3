import { describe, expect, it } from 'vitest'
import { CATEGORIES, CATEGORY_LABEL, guessCategory, isCategory } from './categories.ts'

describe('categories', () => {
  it('labels every category', () => {
    for (const c of CATEGORIES) expect(CATEGORY_LABEL[c]).toBeTruthy()
    expect(isCategory('movie')).toBe(true)
    expect(isCategory('Movie')).toBe(false)
    expect(isCategory(undefined)).toBe(false)
  })

  it('guesses from where most of the bytes are', () => {
    expect(guessCategory([{ name: 'film.MKV', size: 9e9 }])).toBe('movie')
    expect(
      guessCategory([
        { name: 'cover.jpg', size: 1e5 },
        { name: '01 intro.flac', size: 3e7 },
        { name: '02 song.flac', size: 4e7 },
      ]),
    ).toBe('music')
    expect(
      guessCategory([
        { name: 'book.pdf', size: 1e6 },
        { name: 'talk.mp4', size: 5e8 },
      ]),
    ).toBe('movie')
    expect(guessCategory([{ name: 'notes.txt', size: 10 }])).toBe('misc')
    expect(guessCategory([{ name: '.mkv', size: 10 }])).toBe('misc')
    expect(guessCategory([])).toBe('misc')
  })
})
