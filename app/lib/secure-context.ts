// Whether this page can do its work: WebCrypto (crypto.subtle: hashing pieces to share and
// to check downloads), the origin-private file system (downloads kept on disk) and service
// workers (the offline app, streaming) exist only in a secure context (W3C Secure Contexts
// §3): a page from https://, or from http:// on loopback (localhost, 127.0.0.1, [::1]). A
// relay reached over plain http:// at any other address serves a page without them, and
// sharing would fail deep in hashing with "Cannot read properties of undefined (reading
// 'digest')". So the page says so first, plainly, with what the relay's operator can do.

export interface PageSecurity {
  /** window.isSecureContext (undefined in a very old browser: taken as secure). */
  isSecureContext: boolean | undefined
  /** location.host. */
  host: string
}

export interface InsecureNotice {
  /** The address the page was loaded from, to name in the message. */
  host: string
  /** One sentence on what does not work. */
  summary: string
  /** What the relay's operator should do. */
  fix: string
}

/** The notice to show, or null when the page is a secure context. */
export function insecureNotice(page: PageSecurity): InsecureNotice | null {
  if (page.isSecureContext !== false) return null
  return {
    host: page.host,
    summary:
      'This relay must be reached over HTTPS. Loaded over plain HTTP from another computer, the ' +
      'browser withholds what Monsoon needs: the cryptography that hashes and checks files, the ' +
      'storage that keeps downloads, and the offline app.',
    fix:
      'If you run this relay, start it with --acme-domain YOUR.DOMAIN (a free certificate, ' +
      'renewed by itself) or --tls-cert and --tls-key with a certificate you have, and open it ' +
      'at its https:// address. On the relay’s own computer, http://localhost works too.',
  }
}

/** This page's notice (null in a secure context). */
export function pageInsecureNotice(): InsecureNotice | null {
  return insecureNotice({
    isSecureContext: globalThis.isSecureContext,
    host: location.host,
  })
}

/** Why sharing is refused on such a page, in a sentence (the notice says the rest). */
export const SHARE_REFUSED =
  'Files cannot be shared from this page: hashing them needs the browser’s cryptography, ' +
  'which it gives only to pages reached over HTTPS or from localhost.'

/** Thrown before hashing in a page that cannot hash. */
export class InsecureContextError extends Error {
  override name = 'InsecureContextError'
}

/** Throws InsecureContextError when this page is not a secure context. */
export function requireSecureContext(): void {
  if (pageInsecureNotice()) throw new InsecureContextError(SHARE_REFUSED)
}
