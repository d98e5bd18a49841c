/** The Node answering UAS of bench/transport in its own process: argv = transport port [cert key]. */
import { readFileSync } from "node:fs";
import { startLoadUas, type LoadTransport } from "./load-ua.js";

const [t, port, cert, key] = process.argv.slice(2) as [LoadTransport, string, string?, string?];
await startLoadUas(t, "127.0.0.1", Number(port), cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined);
process.send?.({ ready: true });
