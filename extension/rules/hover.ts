// rules: hover text for a `.bypass` line — the word under the cursor explained (pcap-filter's meaning),
// and the rule in plain words (describeFilter), its action, its live hits and what the preview says.
import { describeFilter } from '../../engine/steer/describe';
import type { Rule, RuleSet } from '../../engine/steer/rules';
import { lookupEtherProtocol, lookupIpProtocol } from '../../engine/steer/services';
import type { MappedHits } from './hit-map';
import { lineTokens, splitLine, tokenAt } from './line';
import type { RulePreview } from './preview';
import type { RuleHits } from './sources';
import { byteSize, plural } from './titles';
import { explainWord } from './vocabulary';

export interface HoverRequest {
  readonly line: string;
  /** 1-based line number, as the engine's ranges count. */
  readonly lineNumber: number;
  /** 0-based column. */
  readonly column: number;
  readonly rules: RuleSet;
  /** Live hits per rule of `rules` when this file is the capture's rules (see mapHits). */
  readonly hits?: readonly MappedHits[];
  readonly defaultHits?: RuleHits;
  /** Preview slots per rule of `rules`, then the default. */
  readonly preview?: readonly RulePreview[];
}

export interface HoverResult {
  readonly markdown: string;
  /** Columns of the word the hover is about. */
  readonly start: number;
  readonly end: number;
}

const ACTION_PATH: Readonly<Record<string, string>> = {
  bypass: 'the **bypass** path (the userspace stack)',
  kernel: 'the **kernel** path',
  drop: '**dropped** at the NIC',
};

function protocolDoc(name: string, ether: boolean): string | undefined {
  if (ether) {
    const v = lookupEtherProtocol(name);
    return v === undefined ? undefined : `\`${name}\` — Ethernet type 0x${v.toString(16).padStart(4, '0')}.`;
  }
  const v = lookupIpProtocol(name);
  return v === undefined ? undefined : `\`${name}\` — IP protocol ${v} (netbase's /etc/protocols).`;
}

function sentence(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.');
}

function hitsLine(h: RuleHits): string {
  return `**Live:** ${plural(h.packets, 'packet')} · ${plural(h.flows, 'flow')} · ${byteSize(h.bytes)}`;
}

function previewLines(p: RulePreview | undefined): string[] {
  if (p === undefined) return [];
  if (p.changes.length === 0) return [`**Preview:** ${plural(p.packets, 'captured packet')} would be steered by this line; none would change path.`];
  return [
    [
      `**Preview:** ${plural(p.packets, 'captured packet')} would be steered by this line; these would change path:`,
      ...p.changes.map((c) => `- ${plural(c.packets, 'packet')} (${plural(c.flows, 'flow')}) ${c.from} → ${c.to}`),
    ].join('\n'),
  ];
}

function ruleSummary(rule: Rule, req: HoverRequest): string[] {
  const out = [
    `**Rule ${rule.index}** (line ${rule.range.line}): ${sentence(describeFilter(rule.filter))}`,
    `First packets of such flows go to ${ACTION_PATH[rule.action]}; the rest of each flow follows its first packet.`,
  ];
  const h = req.hits?.[rule.index];
  if (h?.kind === 'hits') out.push(hitsLine(h.hits));
  else if (h?.kind === 'new') out.push('**Live:** not in the running capture\'s rules yet (save to apply it to new flows).');
  out.push(...previewLines(req.preview?.[rule.index]));
  return out;
}

/** The hover for a column of a line, or undefined where there is nothing to say. */
export function hoverAt(req: HoverRequest): HoverResult | undefined {
  const parts = splitLine(req.line);
  const { first } = parts;
  if (first === undefined || req.column > parts.contentEnd) return undefined;
  const rule = req.rules.rules.find((r) => r.range.line === req.lineNumber);
  const isDefault = req.rules.default?.range.line === req.lineNumber;

  // The word under the cursor and what it means.
  let word: { start: number; end: number } | undefined;
  let doc: string | undefined;
  if (req.column >= first.start && req.column <= first.end) {
    word = first;
    // On a rule's action the rule summary says it all; on `default` or a wrong word, explain the word.
    if (!rule) doc = explainWord(first.text, { atLineStart: true });
  } else if (parts.filterStart !== undefined && req.column >= parts.filterStart) {
    if (first.text === 'default') {
      const m = /\S+/.exec(parts.filterText);
      if (m && req.column <= parts.filterStart + m[0].length) {
        word = { start: parts.filterStart, end: parts.filterStart + m[0].length };
        doc = explainWord(m[0], { atLineStart: true });
      }
    } else {
      const tokens = lineTokens(req.line, parts);
      const t = tokenAt(tokens, req.column);
      if (t) {
        word = { start: t.span.offset, end: t.span.offset + t.span.length };
        const i = tokens.indexOf(t);
        // A name means a service only after `port`/`portrange` (or in a list after one).
        const afterPort = tokens.slice(0, i).some((x) => x.kind === 'keyword' && (x.text === 'port' || x.text === 'portrange'));
        const prev = tokens[i - 1];
        if (t.kind === 'id' && prev?.kind === 'keyword' && prev.text === 'proto') doc = protocolDoc(t.text, tokens[i - 2]?.text === 'ether' || tokens[i - 2]?.text === 'link');
        else doc = explainWord(t.text, { afterPort: t.kind !== 'id' || afterPort });
      }
    }
  }

  const sections: string[] = [];
  if (doc !== undefined) sections.push(doc);
  if (rule) sections.push(ruleSummary(rule, req).join('\n\n'));
  else if (isDefault) {
    const lines = [`**Default:** packets of flows no rule matches go to ${ACTION_PATH[req.rules.defaultAction]}.`];
    if (req.defaultHits) lines.push(hitsLine(req.defaultHits));
    lines.push(...previewLines(req.preview?.[req.rules.rules.length]));
    sections.push(lines.join('\n\n'));
  }
  if (sections.length === 0) return undefined;
  const start = word?.start ?? first.start;
  const end = word?.end ?? parts.contentEnd;
  return { markdown: sections.join('\n\n---\n\n'), start, end };
}
