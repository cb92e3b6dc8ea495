// The transport: one binary WebSocket message per frame (PROTOCOL.md §1.2). Browsers cannot open
// raw QUIC, so this client speaks WebSocket only. The WebSocket constructor is injected: the
// browser's global one, or the `ws` package's in Node 20 (which has no global WebSocket).

/** One open connection that carries whole frames. */
export interface FrameConnection {
  /** Sends one frame. Throws if the connection is already closed. */
  send(frame: Uint8Array): void;
  /** Closes from this side (a normal close); `onClose` follows. */
  close(): void;
}

export interface ConnectionHandlers {
  onFrame(frame: Uint8Array): void;
  /** The connection is gone, whoever closed it. Called once. */
  onClose(reason: string): void;
}

/** Opens a connection; rejects if it cannot be opened. */
export type Connector = (handlers: ConnectionHandlers) => Promise<FrameConnection>;

/** The part of the WHATWG WebSocket this client uses (browsers' and `ws`'s both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** A connector for `url` (`ws://host:port/ws` or `wss://...`). A function is asked again on
 * every attempt (e.g. a server that moved). */
export function webSocketConnector(url: string | (() => string), WebSocketImpl?: WebSocketConstructor): Connector {
  const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) throw new Error('no WebSocket here: pass a WebSocket constructor (in Node 20, the `ws` package)');
  return (handlers) =>
    new Promise<FrameConnection>((resolve, reject) => {
      const target = typeof url === 'function' ? url() : url;
      let opened = false;
      let closed = false;
      const ws = new Impl(target);
      ws.binaryType = 'arraybuffer';
      const finish = (reason: string) => {
        if (closed) return;
        closed = true;
        if (opened) handlers.onClose(reason);
        else reject(new Error(reason));
      };
      ws.onopen = () => {
        opened = true;
        resolve({
          send(frame) {
            if (closed || ws.readyState !== OPEN) throw new Error('WebSocket is not open');
            ws.send(frame);
          },
          close() {
            try {
              ws.close(1000);
            } catch {
              /* already closing */
            }
          },
        });
      };
      ws.onmessage = (ev) => {
        const bytes = bytesOf(ev.data);
        if (!bytes) {
          // A text message is never a frame (PROTOCOL.md §1.2).
          ws.close(1003, 'text messages are not frames');
          return;
        }
        if (!closed) handlers.onFrame(bytes);
      };
      ws.onerror = () => {
        if (!opened) finish(`cannot connect to ${target}`);
      };
      ws.onclose = (ev) => finish(ev.reason ? `WebSocket closed (${ev.code} ${ev.reason})` : `WebSocket closed (${ev.code})`);
    });
}
