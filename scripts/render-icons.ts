// Renders the app's PNG icons (public/icons/) from public/favicon.svg with Chromium, once:
// the PNGs are committed, so the build needs no image tooling. Run again after changing
// the logo: `npx tsx scripts/render-icons.ts`.

import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { chromium } from '@playwright/test'
import { CHROMIUM } from './chromium.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The maskable icon: the same picture on a full-bleed square, the cloud inside the central
 * 80% circle that every mask keeps (W3C Web App Manifest, "purpose: maskable"). */
function maskable(svg: string): string {
  return svg
    .replace('<rect width="64" height="64" rx="14"', '<rect x="-8" y="-8" width="80" height="80"')
    .replace('viewBox="0 0 64 64"', 'viewBox="-8 -8 80 80"')
}

async function main(): Promise<void> {
  const svg = await readFile(`${ROOT}public/favicon.svg`, 'utf8')
  const browser = await chromium.launch(CHROMIUM)
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 })
    const icons = [
      { file: 'icon-192.png', size: 192, svg },
      { file: 'icon-512.png', size: 512, svg },
      { file: 'maskable-512.png', size: 512, svg: maskable(svg) },
    ]
    for (const icon of icons) {
      await page.setViewportSize({ width: icon.size, height: icon.size })
      const src = `data:image/svg+xml;base64,${Buffer.from(icon.svg).toString('base64')}`
      await page.setContent(
        `<style>html,body{margin:0;background:transparent}img{display:block}</style>` +
          `<img src="${src}" width="${icon.size}" height="${icon.size}">`,
      )
      await page.locator('img').screenshot({
        path: `${ROOT}public/icons/${icon.file}`,
        omitBackground: true,
      })
    }
  } finally {
    await browser.close()
  }
}

await main()
