// aedes 1.2 (Node.js) as a third reference broker for run-side-by-side.sh.
//   node server.mjs <port> [host]
// In-memory persistence (aedes' default), defaults otherwise: the settings a user of aedes would run with.
import { createServer } from 'node:net'
import { Aedes } from 'aedes'

const port = Number(process.argv[2] ?? 1883)
const host = process.argv[3] ?? '127.0.0.1'

const aedes = await Aedes.createBroker({ heartbeatInterval: 3_600_000 })
const server = createServer(aedes.handle)
server.maxConnections = 1_000_000
server.listen(port, host, () => console.error(`aedes listening on ${host}:${port}`))

const stop = () => server.close(() => aedes.close(() => process.exit(0)))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
