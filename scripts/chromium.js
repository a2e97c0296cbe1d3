// How every part of the project launches Chromium (Debian's: Playwright cannot download its
// own here): the end-to-end tests (playwright.config.ts), the benchmarks (bench/) and the
// icon renderer (scripts/render-icons.ts). One list, so a flag one of them needs is not
// missing from another.

/** Launch options for Playwright's chromium.launch() and launchPersistentContext(). Host
 * candidates stay plain addresses rather than mDNS names, which loopback peers in other
 * contexts or browser processes could not resolve. */
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ],
}
