// The WebSocket transport against a local `ws` server: one binary message per frame, text is
// never a frame, a refused connection rejects.
import { createServer } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { webSocketConnector, type WebSocketConstructor } from '../../src/transport.js';

const WS = WebSocket as unknown as WebSocketConstructor;
let server: WebSocketServer | null = null;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function listen(onConnection: (socket: WebSocket) => void): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  server.on('connection', onConnection);
  await new Promise<void>((r) => server!.once('listening', () => r()));
  const { port } = server.address() as { port: number };
  return `ws://127.0.0.1:${port}/ws`;
}

describe('WebSocket transport', () => {
  it('carries each frame as one binary message, both ways', async () => {
    const received: Buffer[] = [];
    const url = await listen((socket) => {
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        expect(isBinary).toBe(true);
        received.push(data);
        socket.send(Buffer.from([9, 8, 7]), { binary: true });
      });
    });
    const frames: Uint8Array[] = [];
    let closed = '';
    const conn = await webSocketConnector(url, WS)({ onFrame: (f) => frames.push(f), onClose: (r) => (closed = r) });
    conn.send(new Uint8Array([1, 2, 3]));
    await new Promise<void>((r) => { const t = setInterval(() => frames.length && (clearInterval(t), r()), 2); });
    expect([...received[0]!]).toEqual([1, 2, 3]);
    expect([...frames[0]!]).toEqual([9, 8, 7]);
    conn.close();
    await new Promise<void>((r) => { const t = setInterval(() => closed && (clearInterval(t), r()), 2); });
    expect(closed).toMatch(/1000/);
    expect(() => conn.send(new Uint8Array([1]))).toThrow();
  });

  it('closes on a text message instead of passing it on', async () => {
    const url = await listen((socket) => socket.send('not a frame'));
    const frames: Uint8Array[] = [];
    const closed = await new Promise<string>((resolve) => {
      void webSocketConnector(url, WS)({ onFrame: (f) => frames.push(f), onClose: resolve });
    });
    expect(frames).toEqual([]);
    expect(closed).toMatch(/1003|text/);
  });

  it('rejects when nothing listens, and asks a URL function on every attempt', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const { port } = free.address() as { port: number };
    await new Promise<void>((r) => free.close(() => r()));
    let asked = 0;
    const connector = webSocketConnector(() => {
      asked++;
      return `ws://127.0.0.1:${port}/ws`;
    }, WS);
    const handlers = { onFrame: () => {}, onClose: () => {} };
    await expect(connector(handlers)).rejects.toThrow(/cannot connect|closed/);
    await expect(connector(handlers)).rejects.toThrow();
    expect(asked).toBe(2);
  });
});
