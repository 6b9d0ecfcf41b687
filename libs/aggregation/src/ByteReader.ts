import { DeserializationError } from './errors';

/** Reads what `ByteWriter` wrote; any overrun throws `DeserializationError` naming the offset. */
export class ByteReader {
  private readonly view: DataView;
  private pos = 0;
  private static readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new DeserializationError(`snapshot is truncated: needed ${n} byte(s) at offset ${this.pos} of ${this.bytes.length}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  varUint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      this.need(1);
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new DeserializationError(`varint at offset ${this.pos} is longer than 8 bytes`);
    }
  }

  varInt(): number {
    const z = this.varUint();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const len = this.varUint();
    this.need(len);
    const s = ByteReader.decoder.decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  /** Fails unless every byte was consumed (trailing garbage means a wrong or corrupt snapshot). */
  expectEnd(what: string): void {
    if (this.pos !== this.bytes.length) {
      throw new DeserializationError(`${what} snapshot has ${this.bytes.length - this.pos} trailing byte(s) at offset ${this.pos}`);
    }
  }
}
