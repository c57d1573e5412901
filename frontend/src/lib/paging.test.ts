import { describe, expect, it } from 'vitest'
import { arrived, back, currentCursor, FIRST_PAGE, forward, rangeWords } from './paging'

describe('cursor paging', () => {
  it('goes forward with the next cursor and back with the ones already seen', () => {
    let pages = arrived(FIRST_PAGE, 'c50')
    expect(currentCursor(pages)).toBeNull()
    pages = arrived(forward(pages), 'c100')
    expect(currentCursor(pages)).toBe('c50')
    expect(rangeWords(pages, 50, 50, 'contacts')).toBe('Contacts 51–100')
    pages = arrived(forward(pages), null)
    expect(currentCursor(pages)).toBe('c100')
    expect(rangeWords(pages, 7, 50, 'contacts')).toBe('Contacts 101–107 (the last page)')
    expect(forward(pages)).toBe(pages) // no next page: stays
    pages = back(pages)
    expect(currentCursor(pages)).toBe('c50')
    expect(pages.next).toBe('c100') // known without asking again
    pages = back(back(pages))
    expect(currentCursor(pages)).toBeNull()
    expect(pages.index).toBe(0)
  })

  it('forgets the pages after the current one when it moves forward again', () => {
    let pages = forward(forward(arrived(arrived(forward(arrived(FIRST_PAGE, 'a')), 'b'), 'b')))
    pages = back(pages)
    pages = forward(arrived(pages, 'b2'))
    expect(pages.cursors).toEqual([null, 'a', 'b2'])
  })

  it('says when nothing matched', () => {
    expect(rangeWords(FIRST_PAGE, 0, 50, 'contacts')).toBe('No contacts')
  })
})
