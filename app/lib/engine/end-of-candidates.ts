// End-of-candidates for the bridge's WebRTC peers. A browser's RTCPeerConnection fires
// `icecandidate` with a null candidate when gathering completes (W3C WebRTC 1.0, §4.4.1.6,
// "update the ICE gathering state"); webrtc-polyfill only fires `icegatheringstatechange`.
// simple-peer (WebTorrent's peer, trickle off) sends its offer or answer on that null
// candidate, or after a 5 s timeout without it: every browser connection to the bridge
// waited those 5 s (bench/bridge measured 5.0-5.3 s against 0.2 s between browsers).
//
// The engine's one prototype patch, in the bridge's Node process only: there simple-peer takes
// webrtc-polyfill's class by import (it has no `wrtc` option and reads no global), so no class
// of ours can stand in its place, and the process holds no other WebRTC user to keep stock.

import { RTCPeerConnection, RTCPeerConnectionIceEvent } from 'webrtc-polyfill'

let patched = false

/** Makes webrtc-polyfill's RTCPeerConnection fire the null candidate when gathering
 * completes, as browsers do (idempotent). */
export function fireEndOfCandidates(): void {
  if (patched) return
  patched = true
  const proto = RTCPeerConnection.prototype as EventTarget & { iceGatheringState?: string }
  const dispatch = proto.dispatchEvent
  proto.dispatchEvent = function (this: typeof proto, event: Event): boolean {
    const result = dispatch.call(this, event)
    if (event.type === 'icegatheringstatechange' && this.iceGatheringState === 'complete') {
      // The polyfill types its constructor for a candidate string; the spec event carries null.
      dispatch.call(this, new RTCPeerConnectionIceEvent(null as unknown as string))
    }
    return result
  }
}
