// steer: a classic BPF interpreter with libpcap's bpf_filter() semantics, for tests and webviews.
//
// A load past the captured bytes, or a division by a zero X, ends the program with 0 (reject).
// Loads check against `packet.length` (the captured length); `len` is the length on the wire.

import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA, BPF_JEQ, BPF_JGE,
  BPF_JGT, BPF_JMP, BPF_JSET, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MSH,
  BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TXA, BPF_W, BPF_X, BPF_XOR,
  type BpfInsn,
} from './bpf';

function load(p: Uint8Array, off: number, size: number): number {
  if (size === BPF_W) return ((p[off] << 24) | (p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3]) >>> 0;
  if (size === BPF_H) return (p[off] << 8) | p[off + 1];
  return p[off];
}

const SIZE_BYTES: Readonly<Record<number, number>> = { [BPF_W]: 4, [BPF_H]: 2, [BPF_B]: 1 };

/** Runs `program` on one packet and returns what it returns (the snap length to keep, 0 = reject). */
export function runBpf(program: readonly BpfInsn[], packet: Uint8Array, wireLen: number): number {
  const mem = new Uint32Array(BPF_MEMWORDS);
  const n = packet.length;
  let A = 0;
  let X = 0;
  let pc = 0;
  for (;;) {
    const ins = program[pc++];
    if (!ins) return 0;
    const cls = ins.code & 0x07;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = ins.code & 0xe0;
        let v: number;
        if (mode === BPF_IMM) v = ins.k;
        else if (mode === BPF_LEN) v = wireLen >>> 0;
        else if (mode === BPF_MEM) v = mem[ins.k];
        else if (mode === BPF_MSH) {
          if (ins.k >= n) return 0;
          v = (packet[ins.k] & 0xf) << 2;
        } else {
          const size = ins.code & 0x18;
          const off = mode === BPF_IND ? X + ins.k : ins.k;
          if (off + SIZE_BYTES[size] > n) return 0;
          v = load(packet, off, size);
        }
        if (cls === BPF_LD) A = v >>> 0;
        else X = v >>> 0;
        break;
      }
      case BPF_ST:
        mem[ins.k] = A;
        break;
      case BPF_STX:
        mem[ins.k] = X;
        break;
      case BPF_ALU: {
        const op = ins.code & 0xf0;
        const b = ins.code & BPF_X ? X : ins.k >>> 0;
        switch (op) {
          case BPF_ADD: A = (A + b) >>> 0; break;
          case BPF_SUB: A = (A - b) >>> 0; break;
          case BPF_MUL: A = Math.imul(A, b) >>> 0; break;
          case BPF_DIV:
            if (b === 0) return 0;
            A = Math.floor(A / b) >>> 0;
            break;
          case BPF_MOD:
            if (b === 0) return 0;
            A = A % b >>> 0;
            break;
          case BPF_AND: A = (A & b) >>> 0; break;
          case BPF_OR: A = (A | b) >>> 0; break;
          case BPF_XOR: A = (A ^ b) >>> 0; break;
          case BPF_LSH: A = b < 32 ? (A << b) >>> 0 : 0; break;
          case BPF_RSH: A = b < 32 ? A >>> b : 0; break;
          case BPF_NEG: A = -A >>> 0; break;
          default: return 0;
        }
        break;
      }
      case BPF_JMP: {
        const op = ins.code & 0xf0;
        if (op === BPF_JA) {
          pc += ins.k;
          break;
        }
        const b = ins.code & BPF_X ? X : ins.k >>> 0;
        let taken: boolean;
        if (op === BPF_JEQ) taken = A === b;
        else if (op === BPF_JGT) taken = A > b;
        else if (op === BPF_JGE) taken = A >= b;
        else if (op === BPF_JSET) taken = (A & b) !== 0;
        else return 0;
        pc += taken ? ins.jt : ins.jf;
        break;
      }
      case BPF_RET:
        return (ins.code & BPF_A ? A : ins.k) >>> 0;
      case BPF_MISC:
        if (ins.code & BPF_TXA) A = X;
        else X = A;
        break;
      default:
        return 0;
    }
  }
}
