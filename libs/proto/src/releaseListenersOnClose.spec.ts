import http2, { type ClientHttp2Stream, type Http2Stream, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { releaseListenersOnClose } from './releaseListenersOnClose';

/** Every event with a listener on `stream`, and how many. */
const listeners = (stream: Http2Stream) => Object.fromEntries(stream.eventNames().map((e) => [String(e), stream.listenerCount(e)]));

describe('releaseListenersOnClose', () => {
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  let serverStream: Promise<ServerHttp2Stream>;
  const serverCloseListenersRan: string[] = [];

  beforeAll(async () => {
    server = http2.createServer();
    serverStream = new Promise((resolve) =>
      server.once('stream', (stream) => {
        stream.on('error', () => undefined);
        stream.once('close', () => serverCloseListenersRan.push('before'));
        releaseListenersOnClose(stream);
        stream.once('close', () => serverCloseListenersRan.push('after'));
        stream.on('data', () => undefined);
        stream.on('end', () => {
          stream.respond({ ':status': 200 });
          stream.end('answer');
        });
        resolve(stream);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('leaves only a no-op error listener on both ends once a call is over, after every close listener ran', async () => {
    const clientCloseListenersRan: string[] = [];
    const request: ClientHttp2Stream = session.request({ ':method': 'POST', ':path': '/' });
    let body = '';
    request.setEncoding('utf8').on('data', (d: string) => (body += d));
    request.on('response', () => undefined);
    request.once('close', () => clientCloseListenersRan.push('before'));
    releaseListenersOnClose(request);
    request.once('close', () => clientCloseListenersRan.push('after'));
    expect(listeners(request)).toMatchObject({ data: 1, response: 1, close: 3 });
    request.end('question');
    await new Promise((resolve) => request.once('close', resolve));
    const stream = await serverStream;
    if (!stream.closed || !stream.destroyed) await new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => setImmediate(resolve));

    expect(body).toBe('answer');
    expect(clientCloseListenersRan).toEqual(['before', 'after']);
    expect(serverCloseListenersRan).toEqual(['before', 'after']);
    expect(listeners(request)).toEqual({ error: 1 });
    expect(listeners(stream)).toEqual({ error: 1 });
    // A late error on a released stream is swallowed, not an uncaught exception.
    expect(() => request.emit('error', new Error('late'))).not.toThrow();
    expect(() => stream.emit('error', new Error('late'))).not.toThrow();
  });
});
