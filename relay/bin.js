#!/usr/bin/env node
// The relay's executable: registers tsx so the TypeScript sources run as they are, then
// hands over to main.ts.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./main.ts')
await main(process.argv.slice(2))
