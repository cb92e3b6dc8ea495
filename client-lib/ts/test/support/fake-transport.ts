// A fake transport: each connect() opens a FakeConnection the test plays the server on.
import type { ConnectionHandlers, Connector, FrameConnection } from '../../src/transport.js';
import { readClientFrame } from './server-frames.js';
import type * as fb from '../../src/generated/magpie/wire/fb.js';

export type ClientFrame = ReturnType<typeof readClientFrame>;

export class FakeConnection implements FrameConnection {
  readonly sent: ClientFrame[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private readIndex = 0;

  constructor(private readonly handlers: ConnectionHandlers) {}

  send(frame: Uint8Array): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(readClientFrame(frame));
    for (const w of this.waiters.splice(0)) w();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.handlers.onClose('closed by client'));
    for (const w of this.waiters.splice(0)) w();
  }

  /** The server pushes a frame to the client. */
  push(frame: Uint8Array): void {
    if (!this.closed) this.handlers.onFrame(frame);
  }

  /** The server (or the network) drops the connection. */
  drop(reason = 'connection reset'): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose(reason);
  }

  /** The next frame the client sends that the test has not read yet. */
  async next(): Promise<ClientFrame> {
    while (this.readIndex >= this.sent.length) {
      if (this.closed) throw new Error('connection closed while waiting for a frame');
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.sent[this.readIndex++]!;
  }

  /** The next frame, which must be of `type`. */
  async expect(type: fb.Body): Promise<ClientFrame> {
    const f = await this.next();
    if (f.type !== type) throw new Error(`expected client frame type ${type}, got ${f.type}`);
    return f;
  }
}

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  /** When set, connect() fails (the server is down). */
  down = false;
  private waiters: Array<() => void> = [];

  readonly connector: Connector = async (handlers) => {
    if (this.down) throw new Error('connection refused');
    const c = new FakeConnection(handlers);
    this.connections.push(c);
    for (const w of this.waiters.splice(0)) w();
    return c;
  };

  /** Waits for connection number `index` (0-based). */
  async connection(index: number): Promise<FakeConnection> {
    while (this.connections.length <= index) await new Promise<void>((r) => this.waiters.push(r));
    return this.connections[index]!;
  }
}
