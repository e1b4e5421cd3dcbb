/**
 * aedes (npm) with its defaults and in-memory persistence on 127.0.0.1:PORT: the Node reference broker of the
 * benchmark. Started by bench/run.ts with Node; stops on SIGTERM or SIGINT.
 *
 *   node bench/_aedes_server.ts PORT
 * @module
 */

import { createServer } from "node:net";
import process from "node:process";
import { Aedes } from "aedes";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(
    `Cannot start aedes: expected a port number, received ${JSON.stringify(process.argv[2])}\n`,
  );
  process.exit(2);
}

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, "127.0.0.1");

function stop(): void {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
