// wire: the network-layer facts a transport checksum needs (the pseudo-header of RFC 9293 §3.1 / RFC 8200 §8.1).

/** Addresses of the enclosing IP header. IPv4 addresses are uint32 numbers; IPv6 are 16-byte arrays. */
export type ChecksumContext =
  | { readonly version: 4; readonly src: number; readonly dst: number }
  | { readonly version: 6; readonly src: Uint8Array; readonly dst: Uint8Array };
