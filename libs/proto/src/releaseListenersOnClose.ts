import type { Http2Stream } from 'node:http2';

const noop = () => undefined;

/**
 * Once `stream` has closed, drops every listener on it (a no-op 'error' listener stays, so a late
 * error cannot crash the process).
 *
 * Why: Node keeps each HTTP/2 stream object reachable after it closes until an old-generation
 * collection, so whatever its listeners close over — the call's request, decoded message, response,
 * promise and, through it, an awaiting HTTP handler's request and response — is promoted with it
 * instead of dying young. Measured (`--trace-gc-nvp`, BENCHMARKS.md session 8): api-gateway under REST
 * load promoted 4.9 → 3.2 KB per request and ran 10 → 7 mark-compacts per round; in a bare pair of
 * scripts with ~2 KB of per-call state in the listeners, a server went from 2.9 to 1.2 KB per call.
 * `npm run bench:h2-retention` measures what node:http2 keeps by itself.
 */
export function releaseListenersOnClose(stream: Http2Stream): void {
  stream.once('close', () => {
    // emit() runs the 'close' listeners it had when it started, so the others still run after this one.
    stream.removeAllListeners();
    stream.on('error', noop);
  });
}
