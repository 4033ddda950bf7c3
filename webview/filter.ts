// webview/filter: the packet list's display filter — the rules' own filter language (pcap-filter),
// parsed by the project's parser, compiled to classic BPF and run by the interpreter (no eval: the
// webview's CSP forbids it, and the list must match exactly what a rule with the same text matches).
import { parseFilter } from '../engine/steer/parser';
import { compileBpf, type BpfInsn } from '../engine/steer/bpf';
import { runBpf } from '../engine/steer/bpf-interp';

export type CompiledFilter =
  | { readonly ok: true; readonly text: string; readonly program: readonly BpfInsn[] | undefined }
  | { readonly ok: false; readonly text: string; readonly message: string; readonly start: number; readonly end: number };

/** Compiles `text`; an empty text is the filter that keeps everything. */
export function compileFilter(text: string): CompiledFilter {
  if (text.trim() === '') return { ok: true, text, program: undefined };
  const parsed = parseFilter(text);
  if (!parsed.ok) return { ok: false, text, message: parsed.error.message, start: parsed.error.span.offset, end: parsed.error.span.offset + parsed.error.span.length };
  const compiled = compileBpf(parsed.filter);
  if (!compiled.ok) return { ok: false, text, message: compiled.error.message, start: compiled.error.span.offset, end: compiled.error.span.offset + compiled.error.span.length };
  return { ok: true, text, program: compiled.program };
}

export function matches(f: CompiledFilter, bytes: Uint8Array, wireLen: number): boolean {
  if (!f.ok || f.program === undefined) return true;
  return runBpf(f.program, bytes, wireLen) !== 0;
}
