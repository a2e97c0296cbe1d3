// The TURN REST shared secret (relay/turn/credentials.ts): made once, 32 random bytes as hex,
// in DATA_DIR/turn.secret (or --turn-secret-file), readable by its owner only. An operator
// who runs coturn beside the relay gives coturn the same secret (`static-auth-secret`), and
// browsers' credentials minted here work there too.

import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export const TURN_SECRET_FILE = 'turn.secret'
/** Shorter than this is guessable; coturn takes any length, we refuse to start on less. */
const MIN_SECRET_CHARS = 16

export class TurnSecretError extends Error {
  override name = 'TurnSecretError'
}

export interface TurnSecret {
  secret: string
  path: string
  created: boolean
  readableByOthers: boolean
}

/** Reads the secret at `file` (default DATA_DIR/turn.secret), making it first when absent. */
export function loadTurnSecret(dataDir: string, file?: string): TurnSecret {
  const path = file ?? join(dataDir, TURN_SECRET_FILE)
  let created = false
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
    created = true
  }
  let secret: string
  try {
    secret = readFileSync(path, 'utf8').trim()
  } catch (err) {
    throw new TurnSecretError(`cannot read TURN secret ${path}: ${(err as Error).message}`)
  }
  if (secret.length < MIN_SECRET_CHARS || /\s/.test(secret)) {
    throw new TurnSecretError(
      `TURN secret ${path} must be one line of at least ${MIN_SECRET_CHARS} characters`,
    )
  }
  const readableByOthers = (statSync(path).mode & 0o077) !== 0
  return { secret, path, created, readableByOthers }
}
