/** Raw protobuf field splitting and joining, so a rewrite keeps every field it does not touch byte for byte. */
import protobuf from 'protobufjs';

export interface RawField {
  /** Field number. */
  no: number;
  /** Wire type. */
  wire: number;
  /** The whole field, tag included. */
  bytes: Uint8Array;
  /** The payload of a length-delimited field (wire type 2). */
  payload?: Uint8Array;
}

/** Splits a serialized message into its fields, in order. Throws on malformed input. */
export function splitFields(buf: Uint8Array): RawField[] {
  const r = protobuf.Reader.create(buf);
  const out: RawField[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    let payload: Uint8Array | undefined;
    if (wire === 2) payload = r.bytes();
    else r.skipType(wire);
    out.push({ no, wire, bytes: buf.subarray(start, r.pos), payload });
  }
  return out;
}

/** A length-delimited field `no` holding `payload`. */
export function lengthDelimited(no: number, payload: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((no << 3) | 2)
    .bytes(payload)
    .finish();
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
