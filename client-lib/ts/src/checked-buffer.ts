// The npm flatbuffers runtime has no verifier, so server frames are read through a ByteBuffer
// that checks every access instead (PROTOCOL.md §4.1: "read defensively: treat any
// out-of-bounds access as a malformed frame"). Every scalar read of the generated code goes
// through readUint8, readUint16 or readInt32, strings through __string and vectors through
// __vector / __vector_len, so overriding those bounds the whole decoder. The schema has no
// recursive types, so no read can loop.
import * as flatbuffers from 'flatbuffers';

/** A read outside the buffer, an offset that points nowhere, or a string that is not UTF-8. */
export class MalformedBuffer extends globalThis.Error {
  constructor(message: string, readonly invalidUtf8 = false) {
    super(message);
    this.name = 'MalformedBuffer';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class CheckedByteBuffer extends flatbuffers.ByteBuffer {
  private check(offset: number, size: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.capacity()) {
      throw new MalformedBuffer(`read of ${size} bytes at ${offset} outside a ${this.capacity()}-byte buffer`);
    }
  }

  override readUint8(offset: number): number {
    this.check(offset, 1);
    return super.readUint8(offset);
  }

  override readUint16(offset: number): number {
    this.check(offset, 2);
    return super.readUint16(offset);
  }

  override readInt32(offset: number): number {
    this.check(offset, 4);
    return super.readInt32(offset);
  }

  override __string(offset: number, opt_encoding?: flatbuffers.Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readUint32(start);
    this.check(start + 4, length + 1); // the bytes and their NUL terminator
    if (this.readUint8(start + 4 + length) !== 0) throw new MalformedBuffer('string without its NUL terminator');
    const bytes = this.bytes().subarray(start + 4, start + 4 + length);
    if (opt_encoding === flatbuffers.Encoding.UTF8_BYTES) return bytes;
    try {
      return utf8.decode(bytes);
    } catch {
      throw new MalformedBuffer('string is not UTF-8', true);
    }
  }

  override __vector(offset: number): number {
    const start = offset + this.readInt32(offset);
    this.check(start, 4);
    return start + 4;
  }

  override __vector_len(offset: number): number {
    const start = offset + this.readInt32(offset);
    const length = this.readUint32(start);
    // Every element is at least one byte: a length past the end cannot be real.
    this.check(start + 4, length);
    return length;
  }
}

/** A checked view of `bytes` (a frame, or an event nested in one). */
export function checkedBuffer(bytes: Uint8Array): CheckedByteBuffer {
  return new CheckedByteBuffer(bytes);
}
