// Types for WebTorrent's service-worker half (lib/worker-server.js, the code of its
// dist/sw.min.js), which app/sw.ts imports as is so the protocol matches the installed
// webtorrent exactly.
declare module 'webtorrent/lib/worker-server.js' {
  /** The response for a request under `<scope>webtorrent/`, or null for any other request. */
  export default function fileResponse(event: FetchEvent): Promise<Response> | Response | null
}
