// rules: one line of a `.bypass` file split as the engine's parseRules splits it — the first word
// (an action or `default`), the filter after it, a `#` comment — and the filter's token under a column.
import { lex, type Token } from '../../engine/steer/lexer';

export interface LineParts {
  /** Column (0-based) where a `#` comment starts, or the line's length. */
  readonly contentEnd: number;
  /** The first word, if any. */
  readonly first: { readonly text: string; readonly start: number; readonly end: number } | undefined;
  /** Column where the filter (the second word on) starts, or undefined if there is none. */
  readonly filterStart: number | undefined;
  /** The filter's text (trailing spaces dropped). */
  readonly filterText: string;
}

export function splitLine(line: string): LineParts {
  const hash = line.indexOf('#');
  const contentEnd = hash >= 0 ? hash : line.length;
  const content = line.slice(0, contentEnd).replace(/\s+$/, '');
  const m = /\S+/.exec(content);
  if (!m) return { contentEnd, first: undefined, filterStart: undefined, filterText: '' };
  const first = { text: m[0], start: m.index, end: m.index + m[0].length };
  const rest = /\S/.exec(content.slice(first.end));
  const filterStart = rest ? first.end + rest.index : undefined;
  return { contentEnd, first, filterStart, filterText: filterStart === undefined ? '' : content.slice(filterStart) };
}

/** The filter's tokens (without the final 'eof') with spans as columns of the line. */
export function lineTokens(line: string, parts = splitLine(line)): Token[] {
  if (parts.filterStart === undefined) return [];
  const base = parts.filterStart;
  return lex(parts.filterText)
    .filter((t) => t.kind !== 'eof')
    .map((t) => ({ ...t, span: { offset: t.span.offset + base, length: t.span.length } }));
}

/** The filter token covering a column (a column just after a token counts as on it). */
export function tokenAt(tokens: readonly Token[], column: number): Token | undefined {
  let found: Token | undefined;
  for (const t of tokens) {
    const start = t.span.offset;
    const end = start + t.span.length;
    if (column >= start && column < end) return t;
    if (column === end) found = t;
  }
  return found;
}
