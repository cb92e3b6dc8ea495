// The one error type of the client library, typed by the stable code table (errors.ts, generated
// from wire/src/error.rs).
import { ERROR_CODES, type ErrorCodeInfo } from './errors.js';

const BY_CODE = new Map<number, ErrorCodeInfo>(ERROR_CODES.map((c) => [c.code, c]));

/** The table row for a code received on the wire, if this build knows it. */
export function errorCodeInfo(code: number): ErrorCodeInfo | undefined {
  return BY_CODE.get(code);
}

/** Stable name of a code, or `unknown_<n>` for a code newer than this build. */
export function errorCodeName(code: number): string {
  return BY_CODE.get(code)?.name ?? `unknown_${code}`;
}

/**
 * Why a call failed.
 * - `server`: the server answered the request with an `Error` frame; the connection stays open.
 * - `rejected`: the server closed the connection with a `Close` frame (code below 100).
 * - `transport`: the connection failed or was lost before the reply.
 * - `timeout`: no reply in time.
 * - `closed`: the client was closed (by the app, or for good by the server).
 * - `decode`: a frame from the server failed verification.
 * - `unexpected`: the server answered with a reply of the wrong kind.
 * - `invalid_input`: the request was refused before sending (e.g. content too long).
 */
export type ErrorKind = 'server' | 'rejected' | 'transport' | 'timeout' | 'closed' | 'decode' | 'unexpected' | 'invalid_input';

export class MagpieError extends globalThis.Error {
  /** The stable code, for `server`, `rejected` and `decode` errors. */
  readonly code: number | undefined;
  /** 0 means "do not retry as is". */
  readonly retryAfterMs: number;

  constructor(readonly kind: ErrorKind, message: string, code?: number, retryAfterMs = 0) {
    super(code === undefined ? message : `${errorCodeName(code)} (${code}): ${message}`);
    this.name = 'MagpieError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  static server(code: number, message: string, retryAfterMs: number): MagpieError {
    return new MagpieError('server', message, code, retryAfterMs);
  }

  /** The code's stable name (`invalid_credentials`, `revoked`, ...), if there is a code. */
  get codeName(): string | undefined {
    return this.code === undefined ? undefined : errorCodeName(this.code);
  }

  /** Whether the same request may succeed if sent again (after `retryAfterMs`). */
  get retryable(): boolean {
    switch (this.kind) {
      case 'server': {
        const info = errorCodeInfo(this.code!);
        // A code newer than this build: retry only if the server asked for it.
        return info ? info.retryable : this.retryAfterMs > 0;
      }
      case 'rejected':
        // A Close with a code this build does not know means: reconnect with backoff.
        return this.code === undefined || (errorCodeInfo(this.code)?.retryable ?? true);
      case 'transport':
      case 'timeout':
        return true;
      default:
        return false;
    }
  }

  /** How long the server asked to wait before a retry, if it said. */
  get retryAfter(): number | undefined {
    return this.retryAfterMs > 0 ? this.retryAfterMs : undefined;
  }
}

/**
 * Errors after which reconnecting cannot help: the token is refused, the versions do not match,
 * the device is revoked, a protocol violation.
 */
export function isFatal(e: unknown): boolean {
  if (!(e instanceof MagpieError)) return false;
  if (e.kind === 'server') return !e.retryable;
  if (e.kind === 'rejected') return !e.retryable;
  return false;
}
