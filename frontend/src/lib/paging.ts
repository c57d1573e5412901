// Cursor paging with "Previous" and "Next": the API gives only the cursor of the next page, so
// the cursors of the pages already seen are kept to go back. Nothing is ever counted, so paging
// costs the same on the first page of a million contacts as on the last.

export interface Pages {
  /** cursors[i] opens page i; page 0 opens without a cursor. */
  cursors: Array<string | null>
  index: number
  next: string | null
}

export const FIRST_PAGE: Pages = { cursors: [null], index: 0, next: null }

export function currentCursor(pages: Pages): string | null {
  return pages.cursors[pages.index] ?? null
}

/** The page at `index` arrived and says where the one after it starts. */
export function arrived(pages: Pages, next: string | null): Pages {
  return { ...pages, next }
}

export function forward(pages: Pages): Pages {
  if (!pages.next) return pages
  const cursors = [...pages.cursors.slice(0, pages.index + 1), pages.next]
  return { cursors, index: pages.index + 1, next: null }
}

export function back(pages: Pages): Pages {
  if (pages.index === 0) return pages
  return { ...pages, index: pages.index - 1, next: pages.cursors[pages.index] }
}

/** "Contacts 51–100" for page `index` holding `shown` rows of `size`. */
export function rangeWords(pages: Pages, shown: number, size: number, noun: string): string {
  if (shown === 0) return `No ${noun}`
  const first = pages.index * size + 1
  return `${noun.replace(/^./, (c) => c.toUpperCase())} ${first}–${first + shown - 1}${pages.next ? '' : ' (the last page)'}`
}
