// wire: Ethernet II frames with any number of 802.1Q / 802.1ad VLAN tags — parse and emit.
//
// The frame check sequence is not part of what this module sees: capture sources and TAP devices
// hand over frames without it. Padding to the 60-byte minimum stays in the payload; the network
// layer trims it with its own length field.

import { fail, ok, type Result } from './result';
import { MAC_LEN, readMac, writeMac } from './address';
import { read16, requireRoom, write16 } from './byteorder';

export const ETHERTYPE_IPV4 = 0x0800 as const;
export const ETHERTYPE_ARP = 0x0806 as const;
export const ETHERTYPE_RARP = 0x8035 as const;
/** IEEE 802.1Q customer VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100 as const;
/** IEEE 802.1ad service VLAN tag (QinQ outer tag). */
export const ETHERTYPE_QINQ = 0x88a8 as const;
/** The pre-standard QinQ outer tag some switches still send. */
export const ETHERTYPE_QINQ_LEGACY = 0x9100 as const;
export const ETHERTYPE_IPV6 = 0x86dd as const;
/**
 * IEEE 802.3 §3.2.6: a value of 1536 (0x0600) or more is a type; below it the field is the length of
 * an 802.3/LLC frame's data.
 */
export const ETHERTYPE_MIN = 0x0600 as const;

export const ETHERNET_HEADER_LEN = 14 as const;
export const VLAN_TAG_LEN = 4 as const;

/** Byte offsets of the untagged header. */
export const ETHERNET_FIELD = { DST: 0, SRC: 6, ETHERTYPE: 12, PAYLOAD: 14 } as const;

/** The tag protocol identifiers that introduce a VLAN tag. */
export function isVlanTpid(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_LEGACY;
}

/** One VLAN tag, outermost first in a frame: TPID, then the TCI split into PCP (3 bits), DEI (1) and VID (12). */
export interface VlanTag {
  readonly tpid: number;
  readonly pcp: number;
  readonly dei: boolean;
  readonly vid: number;
}

export interface EthernetRepr {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  /** Outermost first; empty for an untagged frame. */
  readonly vlans: readonly VlanTag[];
  /** The innermost type field: the payload's EtherType, or an 802.3 length when below 0x0600. */
  readonly etherType: number;
}

export interface EthernetFrame extends EthernetRepr {
  readonly headerLen: number;
  /** True when `etherType` is below 0x0600 and so is an 802.3 length field, not a type (an LLC frame). */
  readonly lengthField: boolean;
  /**
   * Everything after the header, padding included (no copy) — except for an 802.3 frame, whose
   * length field says where the data ends, so its padding is cut off.
   */
  readonly payload: Uint8Array;
  /** True when an 802.3 frame's length field runs past the end of the buffer. Always false for typed frames. */
  readonly truncated: boolean;
}

const NO_VLANS: readonly VlanTag[] = Object.freeze([]);

/** Parses a frame from untrusted bytes. Addresses are copies; the payload is a view into `buf`. */
export function parseEthernet(buf: Uint8Array): Result<EthernetFrame> {
  if (buf.length < ETHERNET_HEADER_LEN) {
    return fail('truncated', buf.length, `Ethernet header needs ${ETHERNET_HEADER_LEN} bytes, have ${buf.length}`);
  }
  let at = ETHERNET_FIELD.ETHERTYPE;
  let type = read16(buf, at);
  let vlans = NO_VLANS;
  // 802.1Q §9.6 / 802.1ad: each tag is a TPID followed by a TCI, and the type after it may be another tag.
  while (isVlanTpid(type)) {
    if (at + 2 + VLAN_TAG_LEN > buf.length) {
      return fail('truncated', buf.length, `VLAN tag at offset ${at} runs past the end of the ${buf.length}-byte frame`);
    }
    const tci = read16(buf, at + 2);
    if (vlans === NO_VLANS) vlans = [];
    (vlans as VlanTag[]).push({ tpid: type, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    at += VLAN_TAG_LEN;
    type = read16(buf, at);
  }
  const headerLen = at + 2;
  const lengthField = type < ETHERTYPE_MIN;
  const truncated = lengthField && headerLen + type > buf.length;
  const end = lengthField && !truncated ? headerLen + type : buf.length;
  return ok({
    dst: readMac(buf, ETHERNET_FIELD.DST),
    src: readMac(buf, ETHERNET_FIELD.SRC),
    vlans,
    etherType: type,
    headerLen,
    lengthField,
    payload: buf.subarray(headerLen, end),
    truncated,
  });
}

export function ethernetHeaderLen(repr: Pick<EthernetRepr, 'vlans'>): number {
  return ETHERNET_HEADER_LEN + VLAN_TAG_LEN * repr.vlans.length;
}

/** Writes the header at `offset` and returns its length. Field values are masked to their widths. */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, offset = 0): number {
  const len = ethernetHeaderLen(repr);
  requireRoom(buf, offset, len, 'emitEthernet');
  if (repr.dst.length !== MAC_LEN || repr.src.length !== MAC_LEN) throw new RangeError('emitEthernet: MAC addresses are 6 bytes');
  writeMac(buf, offset + ETHERNET_FIELD.DST, repr.dst);
  writeMac(buf, offset + ETHERNET_FIELD.SRC, repr.src);
  let at = offset + ETHERNET_FIELD.ETHERTYPE;
  for (const tag of repr.vlans) {
    write16(buf, at, tag.tpid);
    write16(buf, at + 2, ((tag.pcp & 7) << 13) | (tag.dei ? 0x1000 : 0) | (tag.vid & 0x0fff));
    at += VLAN_TAG_LEN;
  }
  write16(buf, at, repr.etherType);
  return len;
}
