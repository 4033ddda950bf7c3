// rules: formatting a rules file the way the example is laid out — actions in one column, filters
// starting in the next, trailing comments lined up — changing only whitespace between those parts, so
// a formatted file means exactly what it meant. Lines that do not parse as a rule are left alone.
import { ACTION_WORDS } from './vocabulary';
import { splitLine } from './line';

export interface LineEdit {
  /** 0-based line. */
  readonly line: number;
  readonly newText: string;
}

/** Comments are lined up at most this far right; longer rules put theirs two spaces after the filter. */
const MAX_COMMENT_COLUMN = 60;

interface Parsed {
  readonly line: number;
  readonly original: string;
  readonly head: string;
  readonly filter: string;
  readonly comment: string | undefined;
  /** Where the comment starts now. */
  readonly commentAt: number;
}

/** Edits that lay the file out; lines already laid out get none. */
export function formatRules(text: string): LineEdit[] {
  const lines = text.split('\n');
  const parsed: Parsed[] = [];
  lines.forEach((raw, i) => {
    const original = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const parts = splitLine(original);
    const first = parts.first;
    if (!first) return;
    const isAction = (ACTION_WORDS as readonly string[]).includes(first.text);
    if (!isAction && first.text !== 'default') return;
    if (parts.filterStart === undefined) return;
    const comment = parts.contentEnd < original.length ? original.slice(parts.contentEnd).replace(/\s+$/, '') : undefined;
    parsed.push({ line: i, original, head: first.text, filter: parts.filterText, comment, commentAt: parts.contentEnd });
  });
  const actionWidth = Math.max(0, ...parsed.filter((p) => p.head !== 'default').map((p) => p.head.length)) + 2;
  const bodyLen = (p: Parsed) => (p.head === 'default' ? `default ${p.filter}` : p.head.padEnd(actionWidth) + p.filter).length;
  const commented = parsed.filter((p) => p.comment !== undefined).map(bodyLen).filter((n) => n + 2 <= MAX_COMMENT_COLUMN);
  const needed = commented.length ? Math.max(...commented) + 2 : 0;
  // Keep the column most comments already use, when every comment fits there.
  const counts = new Map<number, number>();
  for (const p of parsed) if (p.comment !== undefined) counts.set(p.commentAt, (counts.get(p.commentAt) ?? 0) + 1);
  const usual = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const commentColumn = usual !== undefined && usual >= needed && usual <= MAX_COMMENT_COLUMN ? usual : needed;
  const edits: LineEdit[] = [];
  for (const p of parsed) {
    let body = p.head === 'default' ? `default ${p.filter}` : p.head.padEnd(actionWidth) + p.filter;
    if (p.comment !== undefined) body = body.length + 2 <= commentColumn ? body.padEnd(commentColumn) + p.comment : `${body}  ${p.comment}`;
    if (body !== p.original) edits.push({ line: p.line, newText: body });
  }
  return edits;
}
