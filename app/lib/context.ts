// Typed context for the page's stores: App.svelte hands its components the page's torrents
// (torrents.svelte.ts), so a component can be mounted with a TorrentClient of its own (a
// test's, a story's) rather than reaching for the module's one client.

import { createContext } from 'svelte'
import type { TorrentClient } from './torrents.svelte.ts'

/** The TorrentClient App.svelte set (throws outside App's tree: none was set). */
export const [torrentsContext, setTorrentsContext] = createContext<TorrentClient>()
