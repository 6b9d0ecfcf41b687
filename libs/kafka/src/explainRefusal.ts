import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { BusAuthenticationError, toBusError, type BusError } from './errors';

export interface RefusalContext {
  brokers: readonly string[];
  ssl?: { ca?: string };
  /** The bus's SASL login, if it has one (only whether it has one matters here). */
  sasl?: unknown;
  /** How long the probe may take per broker (ms, default 2,000). */
  probeTimeoutMs?: number;
}

/**
 * A client without a SASL login on a SASL listener is not told why: the broker closes the
 * connection at its first request, which both client libraries report as a closed connection,
 * retriable, as if the broker were restarting (so a service would retry forever). When a bus
 * without `sasl` meets a retriable connection failure, this asks the brokers whether they want a
 * login (probeSaslMechanisms) and, if one does, turns the failure into BusAuthenticationError,
 * which is not retriable and names the mechanisms. Every other error is `toBusError(error)`.
 * Brokers known to want SASL are remembered (per broker list), so the probe runs once for them.
 */
export async function explainRefusal(error: unknown, context: RefusalContext): Promise<BusError> {
  const busError = toBusError(error);
  if (!busError.retriable || context.sasl) return busError;
  const key = context.brokers.join(',');
  let mechanisms = saslBrokers.get(key);
  if (!mechanisms) {
    for (const broker of context.brokers) {
      const found = await probeSaslMechanisms(broker, { ssl: context.ssl, timeoutMs: context.probeTimeoutMs ?? 2_000 }).catch(() => undefined);
      if (found && found.length > 0) {
        mechanisms = found;
        saslBrokers.set(key, found);
        break;
      }
      if (found) break; // the broker answered and wants no login: the failure is something else
    }
  }
  if (!mechanisms) return busError;
  return new BusAuthenticationError(
    `Kafka at ${context.brokers.join(',')} requires SASL authentication (it offers ${mechanisms.join(', ')}) and this client has no SASL login configured; the broker closed the connection`,
    error,
  );
}

const saslBrokers = new Map<string, string[]>();

/** Kafka's SaslHandshake request (API key 17), version 1; not a flexible version. */
const SASL_HANDSHAKE = 17;
/** Error codes of its response: the mechanism is not enabled (the list follows), or the listener takes no SASL. */
const UNSUPPORTED_SASL_MECHANISM = 33;
const ILLEGAL_SASL_STATE = 34;

/**
 * Asks one broker (`host:port`) which SASL mechanisms its listener takes, by sending a
 * SaslHandshake for PLAIN as the first request on a new connection (over TLS when `ssl` is
 * given) and closing it at the answer. A SASL listener answers with its mechanisms (error 0 or
 * UNSUPPORTED_SASL_MECHANISM); any other listener with ILLEGAL_SASL_STATE: [].
 * Rejects when the broker cannot be reached or does not answer in `timeoutMs`.
 */
export function probeSaslMechanisms(broker: string, opts: { ssl?: { ca?: string }; timeoutMs: number }): Promise<string[]> {
  const sep = broker.lastIndexOf(':');
  const host = broker.slice(0, sep);
  const port = Number(broker.slice(sep + 1));
  return new Promise<string[]>((resolve, reject) => {
    const socket: Socket = opts.ssl
      ? connectTls({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ...(opts.ssl.ca ? { ca: opts.ssl.ca } : {}) })
      : connectTcp({ host, port });
    const done = (err: Error | undefined, value?: string[]) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => done(new Error(`no SaslHandshake answer from ${broker} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    socket.once(opts.ssl ? 'secureConnect' : 'connect', () => socket.write(saslHandshakeRequest('PLAIN')));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      try {
        done(undefined, parseSaslHandshakeResponse(received.subarray(4, 4 + received.readInt32BE(0))));
      } catch (e) {
        done(e as Error);
      }
    });
    socket.on('error', (e) => done(e));
    socket.on('close', () => done(new Error(`${broker} closed the connection before answering SaslHandshake`)));
  });
}

/** Size-prefixed SaslHandshake v1: header v1 (api key, version, correlation id, client id), then the mechanism. */
function saslHandshakeRequest(mechanism: string): Buffer {
  const clientId = Buffer.from('pipeline-sasl-probe', 'utf8');
  const mech = Buffer.from(mechanism, 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 2 + mech.length);
  let o = body.writeInt16BE(SASL_HANDSHAKE, 0);
  o = body.writeInt16BE(1, o);
  o = body.writeInt32BE(1, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt16BE(mech.length, o);
  mech.copy(body, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** Response (after the size): correlation id, error code, then the enabled mechanisms as an array of strings. */
function parseSaslHandshakeResponse(response: Buffer): string[] {
  const errorCode = response.readInt16BE(4);
  if (errorCode === ILLEGAL_SASL_STATE) return [];
  if (errorCode !== 0 && errorCode !== UNSUPPORTED_SASL_MECHANISM) throw new Error(`SaslHandshake answered with error code ${errorCode}`);
  const count = response.readInt32BE(6);
  const mechanisms: string[] = [];
  let o = 10;
  for (let i = 0; i < count; i++) {
    const length = response.readInt16BE(o);
    mechanisms.push(response.toString('utf8', o + 2, o + 2 + length));
    o += 2 + length;
  }
  return mechanisms;
}
