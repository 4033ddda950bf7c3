// wire: the result of parsing untrusted bytes — a value, or a typed error with its byte offset.

/** Why a header could not be parsed. Offsets are relative to the start of the buffer given to the parser. */
export type WireErrorCode =
  | 'truncated' // fewer bytes than the header or a length field says
  | 'bad-version' // IP version field is not what the parser handles
  | 'bad-header-length' // IHL < 5, TCP data offset < 5, or a header length past the end
  | 'bad-total-length' // IP total/payload length smaller than the header or larger than the buffer
  | 'bad-option' // an option whose length is 0, 1 or runs past the end of the options
  | 'bad-length' // a length field that contradicts the header (UDP length < 8, ARP lengths…)
  | 'unsupported'; // well-formed but outside what this parser reads (e.g. ARP for a non-Ethernet medium)

export interface WireError {
  readonly code: WireErrorCode;
  /** Byte offset of the field that is wrong, relative to the start of the parsed buffer. */
  readonly offset: number;
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: WireErrorCode, offset: number, message: string): Result<T> {
  return { ok: false, error: { code, offset, message } };
}
