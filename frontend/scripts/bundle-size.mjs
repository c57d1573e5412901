// The built JavaScript, gzipped (level 9, as served compressed), against the 500 kB budget.
// Run after `npm run build`: `npm run size`.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const BUDGET = 500 * 1024
const dir = new URL('../dist/assets/', import.meta.url).pathname
let total = 0
for (const name of readdirSync(dir).filter((file) => file.endsWith('.js')).sort()) {
  const raw = readFileSync(join(dir, name))
  const gzipped = gzipSync(raw, { level: 9 }).length
  total += gzipped
  console.log(`${name}: ${(raw.length / 1024).toFixed(1)} kB, ${(gzipped / 1024).toFixed(1)} kB gzipped`)
}
console.log(`total JavaScript: ${(total / 1024).toFixed(1)} kB gzipped (budget ${BUDGET / 1024} kB)`)
if (total > BUDGET) {
  console.error('over budget')
  process.exit(1)
}
