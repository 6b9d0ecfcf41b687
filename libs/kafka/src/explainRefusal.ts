import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { BusAuthenticationError, BusTlsError, toBusError, type BusError } from './errors';

export interface RefusalContext {
  brokers: readonly string[];
  ssl?: { ca?: string };
  /** The bus's SASL login, if it has one (only whether it has one matters here). */
  sasl?: unknown;
  /** How long the probe may take per broker (ms, default 2,000). */
  probeTimeoutMs?: number;
}

/**
 * Two refusals a client is not told the reason for, both reported by the client libraries as a
 * closed connection (retriable, as if the broker were restarting, so a service would retry
 * forever) or, by @platformatic/kafka, as a failed SASL login or a bare "Broker requires TLS.":
 * - A client without TLS on a TLS listener: the broker drops the connection at its first bytes.
 *   When a bus without `ssl` fails to connect, this tries a TLS handshake with the brokers
 *   (probeTls) and, if one completes it, answers BusTlsError naming the broker. The other way
 *   round (a TLS client on a listener without TLS: the broker drops the ClientHello), when a bus
 *   with `ssl` fails to connect, a broker that answers a SaslHandshake sent without TLS
 *   (probeSaslMechanisms) gives BusTlsError too.
 * - A client without a SASL login on a SASL listener: the broker closes the connection at its first
 *   request. When a bus without `sasl` meets a retriable connection failure, this asks the brokers
 *   whether they want a login (probeSaslMechanisms) and, if one does, answers BusAuthenticationError
 *   naming the mechanisms.
 * Both are not retriable. Every other error is `toBusError(error)`. Brokers found to want TLS, to
 * speak plaintext, or to want SASL are remembered (per broker list), so a probe that found its
 * answer does not run again for them.
 */
export async function explainRefusal(error: unknown, context: RefusalContext): Promise<BusError> {
  const busError = toBusError(error);
  if (busError instanceof BusTlsError) return busError;
  const key = context.brokers.join(',');
  const timeoutMs = context.probeTimeoutMs ?? 2_000;
  const [tls, plaintext, mechanisms] = await Promise.all([
    context.ssl ? undefined : findTlsBroker(key, context.brokers, timeoutMs),
    context.ssl ? findPlaintextBroker(key, context.brokers, timeoutMs) : undefined,
    busError.retriable && !context.sasl ? findSaslMechanisms(key, context.brokers, context.ssl, timeoutMs) : undefined,
  ]);
  if (tls) {
    return new BusTlsError(`Kafka at ${tls} expects TLS (it completed a TLS handshake) and this client connects without TLS; the broker closed the connection`, error);
  }
  if (plaintext) {
    return new BusTlsError(`Kafka at ${plaintext} does not speak TLS (it answered a Kafka request sent without TLS) and this client connects with TLS; the TLS handshake failed`, error);
  }
  if (!mechanisms) return busError;
  return new BusAuthenticationError(
    `Kafka at ${context.brokers.join(',')} requires SASL authentication (it offers ${mechanisms.join(', ')}) and this client has no SASL login configured; the broker closed the connection`,
    error,
  );
}

/** The first of `brokers` that completes a TLS handshake, if any. */
async function findTlsBroker(key: string, brokers: readonly string[], timeoutMs: number): Promise<string | undefined> {
  let found = tlsBrokers.get(key);
  if (found) return found;
  for (const broker of brokers) {
    if (await probeTls(broker, { timeoutMs })) {
      found = broker;
      tlsBrokers.set(key, broker);
      break;
    }
  }
  return found;
}

/** The SASL mechanisms the first broker that answers offers, if it wants a login. */
async function findSaslMechanisms(key: string, brokers: readonly string[], ssl: RefusalContext['ssl'], timeoutMs: number): Promise<string[] | undefined> {
  let mechanisms = saslBrokers.get(key);
  if (mechanisms) return mechanisms;
  for (const broker of brokers) {
    const found = await probeSaslMechanisms(broker, { ssl, timeoutMs }).catch(() => undefined);
    if (found && found.length > 0) {
      mechanisms = found;
      saslBrokers.set(key, found);
      break;
    }
    if (found) break; // the broker answered and wants no login: the failure is something else
  }
  return mechanisms;
}

/** The first of `brokers` that answers a Kafka request (SaslHandshake) sent without TLS, if any. */
async function findPlaintextBroker(key: string, brokers: readonly string[], timeoutMs: number): Promise<string | undefined> {
  let found = plaintextBrokers.get(key);
  if (found) return found;
  for (const broker of brokers) {
    if (await probeSaslMechanisms(broker, { timeoutMs }).then(() => true, () => false)) {
      found = broker;
      plaintextBrokers.set(key, broker);
      break;
    }
  }
  return found;
}

const tlsBrokers = new Map<string, string>();
const plaintextBrokers = new Map<string, string>();
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
  const { host, port } = splitBroker(broker);
  return new Promise<string[]>((resolve, reject) => {
    const socket: Socket = opts.ssl
      ? connectTls({ host, port, servername: serverName(host), ...(opts.ssl.ca ? { ca: opts.ssl.ca } : {}) })
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

/**
 * Whether one broker (`host:port`) completes a TLS handshake: true for a TLS listener, whatever its
 * certificate (this only asks which protocol the port speaks; nothing is sent over the connection,
 * which is closed at once). False when it answers with anything else, closes the connection, cannot
 * be reached, or has not finished the handshake in `timeoutMs`.
 */
export function probeTls(broker: string, opts: { timeoutMs: number }): Promise<boolean> {
  const { host, port } = splitBroker(broker);
  return new Promise<boolean>((resolve) => {
    const socket = connectTls({ host, port, servername: serverName(host), rejectUnauthorized: false });
    const done = (speaksTls: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(speaksTls);
    };
    const timer = setTimeout(() => done(false), opts.timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/** SNI takes a host name, never an IP address. */
const serverName = (host: string): string | undefined => (/^[\d.]+$|:/.test(host) ? undefined : host);

function splitBroker(broker: string): { host: string; port: number } {
  const sep = broker.lastIndexOf(':');
  return { host: broker.slice(0, sep), port: Number(broker.slice(sep + 1)) };
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
