// The WebSocket tracker's most frequent messages, written as text directly: byte for byte
// what JSON.stringify makes of the same objects (the tests check it), without building the
// objects. Every forwarded offer of one announce ends with the same peer id and info hash,
// so that tail is serialised once per announce, not once per offer; each string value still
// goes through JSON.stringify, which owns the escaping.

/** `,"peer_id":…,"info_hash":…}`: the end of every offer or answer forwarded for one
 * announce. `peerIdJson` and `infoHashJson` are JSON.stringify(peer id), (info hash). */
export function signalTail(peerIdJson: string, infoHashJson: string): string {
  return ',"peer_id":' + peerIdJson + ',"info_hash":' + infoHashJson + '}'
}

/** JSON.stringify({ action: 'announce', [type]: { type, sdp }, offer_id, peer_id, info_hash }),
 * with the last two in `tail` (signalTail). */
export function forwardedSignal(
  type: 'offer' | 'answer',
  sdp: string,
  offerId: string,
  tail: string,
): string {
  const head =
    type === 'offer'
      ? '{"action":"announce","offer":{"type":"offer","sdp":'
      : '{"action":"announce","answer":{"type":"answer","sdp":'
  return head + JSON.stringify(sdp) + '},"offer_id":' + JSON.stringify(offerId) + tail
}

/** JSON.stringify({ action: 'announce', interval, info_hash, complete, incomplete }), the
 * answer to an announce; `intervalJson` and `infoHashJson` already serialised. */
export function announceAnswer(
  intervalJson: string,
  infoHashJson: string,
  complete: number,
  incomplete: number,
): string {
  return (
    '{"action":"announce","interval":' +
    intervalJson +
    ',"info_hash":' +
    infoHashJson +
    ',"complete":' +
    JSON.stringify(complete) +
    ',"incomplete":' +
    JSON.stringify(incomplete) +
    '}'
  )
}
