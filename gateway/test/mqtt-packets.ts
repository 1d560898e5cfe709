/** MQTT 3.1.1 packets as bytes, built by hand so that tests and fuzzing can break any field (spec sections 2, 3). */

/** Remaining Length: the variable-length encoding of MQTT 3.1.1 section 2.2.3. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

export const packet = (first: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([first]), varint(body.length), body]);

/** CONNECT (3.1), clean session, keep-alive 60 s, username and password, optional will. */
export function connectPacket(clientId: string, username: string, password: string, will?: { topic: string; payload: string; retain: boolean }): Buffer {
  let flags = 0x80 | 0x40 | 0x02;
  if (will) flags |= 0x04 | 0x08 | (will.retain ? 0x20 : 0); // will flag, will QoS 1, will retain
  const body = [str('MQTT'), Buffer.from([4, flags, 0, 60]), str(clientId)];
  if (will) body.push(str(will.topic), str(will.payload));
  body.push(str(username), str(password));
  return packet(0x10, Buffer.concat(body));
}

/** PUBLISH (3.3) at QoS 1 with packet id `id`; `first` overrides the whole first byte (type and flags). */
export function publishPacket(topic: string, payload: Buffer | string, { id = 1, retain = false, first }: { id?: number; retain?: boolean; first?: number } = {}): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id);
  return packet(first ?? 0x32 | (retain ? 1 : 0), Buffer.concat([str(topic), pid, Buffer.from(payload)]));
}

/** SUBSCRIBE (3.8): one filter at QoS 1. */
export function subscribePacket(filter: string, id = 2): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id);
  return packet(0x82, Buffer.concat([pid, str(filter), Buffer.from([1])]));
}

export const PINGREQ = Buffer.from([0xc0, 0]);
