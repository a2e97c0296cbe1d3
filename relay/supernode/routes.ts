// The supernode API's HTTP routes. GET /v1/hello: this relay's signed supernode record.

import { Hono } from 'hono'
import type { SelfRecord } from './self-record.ts'

export function supernodeRoutes({ self }: { self: SelfRecord }): Hono {
  const app = new Hono()
  app.get('/v1/hello', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json(self.current())
  })
  return app
}
