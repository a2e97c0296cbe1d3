// WebRTC settings for stock clients in Node (simple-peer → webrtc-polyfill → node-datachannel):
// no STUN/TURN servers, and ICE bound to 127.0.0.1, so connections use loopback host candidates
// only and nothing leaves the machine. `bindAddress` is a libdatachannel option that
// webrtc-polyfill passes through from the RTCPeerConnection configuration.
export const LOOPBACK_RTC_CONFIG = { iceServers: [], bindAddress: '127.0.0.1' }

/** WebTorrent options for tests: trackers only (no DHT, LSD, uTP, UPnP/NAT-PMP, web seeds). */
export const QUIET_WEBTORRENT = {
  dht: false,
  lsd: false,
  utp: false,
  natUpnp: false,
  natPmp: false,
  webSeeds: false,
  tracker: { rtcConfig: LOOPBACK_RTC_CONFIG },
}
