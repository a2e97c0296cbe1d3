// The referral text a relay's WebSocket tracker sends (relay/tracker/websocket.ts) and the
// app parses (app/lib/referral.ts): one spelling for both ends. The stock tracker client
// hands the app only the text of a `failure reason` or `warning message`, so the prefix is
// the whole protocol.

/** Failure reason for a hash this relay does not track, before its owners' tracker URLs. */
export const REFERRAL_PREFIX = 'monsoon: not tracked here; announce to '
/** Warning for a peer whose hash has moved to other owners, before their tracker URLs. */
export const MOVED_PREFIX = 'monsoon: moved; announce to '
