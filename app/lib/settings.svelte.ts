// The page's settings as reactive state, loaded from and saved to localStorage (settings.ts).

import { loadSettings, saveSettings, type Settings } from './settings.ts'

export class SettingsStore {
  current = $state.raw<Settings>(loadSettings(globalThis.localStorage ?? null))

  /** Saves the change and makes it current; throws SettingsError when it cannot be saved. */
  update(patch: Partial<Settings>): void {
    const next = { ...this.current, ...patch }
    saveSettings(globalThis.localStorage ?? null, next)
    this.current = next
  }
}

export const settings = new SettingsStore()
