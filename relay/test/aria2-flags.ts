// Flags that keep aria2 on loopback and make the tracker its only source of peers: shared by
// the classic-client integration tests and the bridge's end-to-end tests.
export const ARIA2_LOOPBACK = [
  '--no-conf=true',
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--interface=127.0.0.1',
  '--disable-ipv6=true',
  '--summary-interval=0',
  '--console-log-level=warn',
  '--allow-overwrite=true',
  '--file-allocation=none',
  // If the first announce found nobody, ask again soon instead of after `min interval`.
  '--bt-tracker-interval=3',
]
