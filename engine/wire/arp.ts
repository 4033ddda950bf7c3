// wire: ARP (RFC 826) and RARP (RFC 903) packets for Ethernet and IPv4 — parse and emit.
//
// Only the Ethernet/IPv4 pairing is read: other hardware or protocol types are well-formed ARP that
// this stack has no use for, reported as `unsupported` with the offset of the field.

import { fail, ok, type Result } from './result';
import { MAC_LEN, readIpv4, readMac, writeIpv4 } from './address';
import { read16, requireRoom, write16 } from './byteorder';

export const ARP_HTYPE_ETHERNET = 1 as const;
export const ARP_PTYPE_IPV4 = 0x0800 as const;
export const ARP_OP_REQUEST = 1 as const;
export const ARP_OP_REPLY = 2 as const;
/** RFC 903: reverse request and reply. */
export const ARP_OP_RARP_REQUEST = 3 as const;
export const ARP_OP_RARP_REPLY = 4 as const;

/** The fixed part before the addresses: htype, ptype, hlen, plen, op. */
export const ARP_FIXED_LEN = 8 as const;
/** The whole packet for Ethernet/IPv4: 8 + 2 × (6 + 4). */
export const ARP_PACKET_LEN = 28 as const;

export const ARP_FIELD = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

export interface ArpRepr {
  /** ar$op; values other than 1–4 are kept as they are. */
  readonly operation: number;
  readonly senderHardware: Uint8Array;
  readonly senderProtocol: number;
  readonly targetHardware: Uint8Array;
  readonly targetProtocol: number;
}

/** Parses an ARP packet from untrusted bytes (trailing Ethernet padding is ignored). */
export function parseArp(buf: Uint8Array): Result<ArpRepr> {
  if (buf.length < ARP_FIXED_LEN) {
    return fail('truncated', buf.length, `ARP header needs ${ARP_FIXED_LEN} bytes, have ${buf.length}`);
  }
  const htype = read16(buf, ARP_FIELD.HTYPE);
  if (htype !== ARP_HTYPE_ETHERNET) return fail('unsupported', ARP_FIELD.HTYPE, `ARP hardware type ${htype} is not Ethernet (1)`);
  const ptype = read16(buf, ARP_FIELD.PTYPE);
  if (ptype !== ARP_PTYPE_IPV4) {
    return fail('unsupported', ARP_FIELD.PTYPE, `ARP protocol type 0x${ptype.toString(16).padStart(4, '0')} is not IPv4`);
  }
  // RFC 826: ar$hln and ar$pln give the address sizes; for Ethernet/IPv4 they can only be 6 and 4.
  if (buf[ARP_FIELD.HLEN] !== MAC_LEN) return fail('bad-length', ARP_FIELD.HLEN, `ARP hardware length ${buf[ARP_FIELD.HLEN]}, want 6`);
  if (buf[ARP_FIELD.PLEN] !== 4) return fail('bad-length', ARP_FIELD.PLEN, `ARP protocol length ${buf[ARP_FIELD.PLEN]}, want 4`);
  if (buf.length < ARP_PACKET_LEN) {
    return fail('truncated', buf.length, `ARP packet needs ${ARP_PACKET_LEN} bytes, have ${buf.length}`);
  }
  return ok({
    operation: read16(buf, ARP_FIELD.OPER),
    senderHardware: readMac(buf, ARP_FIELD.SHA),
    senderProtocol: readIpv4(buf, ARP_FIELD.SPA),
    targetHardware: readMac(buf, ARP_FIELD.THA),
    targetProtocol: readIpv4(buf, ARP_FIELD.TPA),
  });
}

export function arpPacketLen(_repr?: ArpRepr): number {
  return ARP_PACKET_LEN;
}

/** Writes the packet at `offset` and returns its length (28). */
export function emitArp(repr: ArpRepr, buf: Uint8Array, offset = 0): number {
  requireRoom(buf, offset, ARP_PACKET_LEN, 'emitArp');
  if (repr.senderHardware.length !== MAC_LEN || repr.targetHardware.length !== MAC_LEN) {
    throw new RangeError('emitArp: hardware addresses are 6 bytes');
  }
  write16(buf, offset + ARP_FIELD.HTYPE, ARP_HTYPE_ETHERNET);
  write16(buf, offset + ARP_FIELD.PTYPE, ARP_PTYPE_IPV4);
  buf[offset + ARP_FIELD.HLEN] = MAC_LEN;
  buf[offset + ARP_FIELD.PLEN] = 4;
  write16(buf, offset + ARP_FIELD.OPER, repr.operation);
  buf.set(repr.senderHardware, offset + ARP_FIELD.SHA);
  writeIpv4(buf, offset + ARP_FIELD.SPA, repr.senderProtocol);
  buf.set(repr.targetHardware, offset + ARP_FIELD.THA);
  writeIpv4(buf, offset + ARP_FIELD.TPA, repr.targetProtocol);
  return ARP_PACKET_LEN;
}
