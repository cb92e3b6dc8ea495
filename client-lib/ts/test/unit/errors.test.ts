import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { ERROR_RS, parseErrorTable, renderErrorsTs, ERRORS_TS } from '../../scripts/gen-errors.mjs';
import { errorCodeInfo, errorCodeName, isFatal, MagpieError } from '../../src/error.js';
import { ERROR_CODES, ErrorCode } from '../../src/errors.js';

describe('error codes', () => {
  it('src/errors.ts is exactly what wire/src/error.rs generates', () => {
    const rows = parseErrorTable(readFileSync(ERROR_RS, 'utf8'));
    expect(renderErrorsTs(rows)).toBe(readFileSync(ERRORS_TS, 'utf8'));
    expect(ERROR_CODES.map((c) => c.code)).toEqual(rows.map((r: { code: number }) => r.code));
  });

  it('has unique codes and names, and the documented ones', () => {
    expect(new Set(ERROR_CODES.map((c) => c.code)).size).toBe(ERROR_CODES.length);
    expect(new Set(ERROR_CODES.map((c) => c.name)).size).toBe(ERROR_CODES.length);
    expect(errorCodeInfo(ErrorCode.Revoked)).toMatchObject({ code: 9, name: 'revoked', retryable: false });
    expect(errorCodeInfo(ErrorCode.RateLimited)).toMatchObject({ code: 400, name: 'rate_limited', retryable: true });
    expect(errorCodeName(101)).toBe('invalid_credentials');
    expect(errorCodeName(64_000)).toBe('unknown_64000');
  });

  it('refuses a table row it cannot read rather than skipping it', () => {
    const src = 'error_codes! {\n    Good = 1, "good", false, "ok";\n    Bad = x, "bad", false, "no";\n}\n';
    expect(() => parseErrorTable(src)).toThrow(/cannot read/);
  });

  it('types server errors by code: name, retryable, retry_after', () => {
    const e = MagpieError.server(ErrorCode.RateLimited, 'slow down', 250);
    expect([e.kind, e.code, e.codeName, e.retryable, e.retryAfter]).toEqual(['server', 400, 'rate_limited', true, 250]);
    const denied = MagpieError.server(ErrorCode.ChatNotFound, '', 0);
    expect([denied.retryable, denied.retryAfter, isFatal(denied)]).toEqual([false, undefined, true]);
    // A code newer than this build: retried only if the server asked for it.
    expect(MagpieError.server(64_000, 'new', 0).retryable).toBe(false);
    expect(MagpieError.server(64_000, 'new', 10).retryable).toBe(true);
  });

  it('tells which closes end the client', () => {
    const rejected = (code: number) => new MagpieError('rejected', '', code);
    expect(isFatal(rejected(ErrorCode.Revoked))).toBe(true);
    expect(isFatal(rejected(ErrorCode.ClientTooOld))).toBe(true);
    expect(isFatal(rejected(ErrorCode.ShuttingDown))).toBe(false);
    expect(isFatal(rejected(77))).toBe(false); // unknown close code: reconnect with backoff
    expect(isFatal(new MagpieError('transport', 'reset'))).toBe(false);
    expect(isFatal(new MagpieError('timeout', 'slow'))).toBe(false);
    expect(isFatal(MagpieError.server(ErrorCode.Unavailable, '', 100))).toBe(false);
  });
});
