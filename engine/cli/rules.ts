// cli: the rules commands — `rules check`, `filter` and `steer` — over the engine's steering code.
import { pcapBackend } from '../backends/pcap';
import { CaptureSession } from '../capture/session';
import { CaptureFormatError } from '../trace/capture-format';
import { compileBpf } from '../steer/bpf';
import { bpfToMatcher } from '../steer/matcher';
import { parseFilter } from '../steer/parser';
import { parseRules, type Diagnostic, type RuleSet } from '../steer/rules';
import { RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN } from '../steer/steering';
import { dissect } from '../wire/dissect';
import { SummaryContext, summarize } from '../wire/summary';
import { CliError, OutputBuffer, fileProblem, openCaptureInput, parseCommandArgs, readTextFile } from './args';
import type { Command } from '../cli';

const LINKTYPE_ETHERNET = 1;

/** `FILE:LINE:COL: severity: message`, as compilers print diagnostics. */
function formatDiagnostic(file: string, d: Diagnostic): string {
  let s = `${file}:${d.range.line}:${d.range.column}: ${d.severity}: ${d.message}`;
  if (d.related) s += `\n${file}:${d.related.range.line}:${d.related.range.column}: note: ${d.related.message}`;
  return s;
}

export const rulesCommand: Command = {
  name: 'rules',
  summary: 'check a .bypass rules file (rules check FILE)',
  help: `usage: bypass-scope rules check FILE

Parses and checks a .bypass routing-rules file and prints every diagnostic as
  FILE:LINE:COL: error|warning: message
Errors: syntax, unknown service/protocol names, ports out of range, bad networks (host bits set),
unknown actions, a duplicate default, filters outside the supported pcap-filter subset.
Warnings: a missing default (kernel assumed), a rule shadowed by an earlier rule (with a note
naming it), programs too long for the kernel.
Exit status: 0 with no errors (warnings allowed), 1 with errors.

The rules language: one 'default ACTION' line, then 'ACTION FILTER' lines, first match wins, '#'
comments; actions bypass, kernel, drop; filters are tcpdump's pcap-filter expressions.`,
  run(argv) {
    const { positionals } = parseCommandArgs(argv, {});
    if (positionals[0] !== 'check') throw new CliError(`unknown rules subcommand '${positionals[0] ?? ''}' (try 'bypass-scope rules check FILE')`);
    if (positionals.length !== 2) throw new CliError('rules check wants one FILE');
    const file = positionals[1];
    const set = parseRules(readTextFile(file, 'rules file'));
    const out = new OutputBuffer();
    for (const d of set.diagnostics) out.line(formatDiagnostic(file, d));
    const errors = set.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = set.diagnostics.length - errors;
    out.flush();
    console.error(`${file}: ${set.rules.length} rule${set.rules.length === 1 ? '' : 's'}, default ${set.defaultAction}; ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    return errors > 0 ? 1 : 0;
  },
};

export const filterCommand: Command = {
  name: 'filter',
  summary: "print the numbers of the packets a pcap-filter expression matches (like tcpdump -r FILE 'EXPR')",
  help: `usage: bypass-scope filter 'EXPR' FILE

Prints the 1-based numbers of the packets of FILE (pcap or pcapng, Ethernet) that the pcap-filter
expression EXPR matches, one per line: the same packets 'tcpdump -r FILE EXPR' prints. The
expression is compiled to classic BPF exactly as the rules are. An expression outside the
supported subset, or invalid, prints its diagnostic with the column and exits 1.`,
  run(argv) {
    const { positionals } = parseCommandArgs(argv, {});
    if (positionals.length !== 2) throw new CliError("want an expression and a FILE: bypass-scope filter 'EXPR' FILE");
    const [expr, file] = positionals;
    const parsed = parseFilter(expr);
    if (!parsed.ok) throw new CliError(`${JSON.stringify(expr)}:1:${parsed.error.span.offset + 1}: error: ${parsed.error.message}`);
    const compiled = compileBpf(parsed.filter);
    if (!compiled.ok) throw new CliError(`${JSON.stringify(expr)}: error: ${compiled.error.message}`);
    const match = bpfToMatcher(compiled.program);
    const reader = openCaptureInput(file);
    const out = new OutputBuffer();
    let n = 0;
    try {
      for (const pkt of reader) {
        n++;
        const link = reader.interfaces[pkt.interfaceId]?.linkType;
        if (link !== LINKTYPE_ETHERNET) throw new CliError(`${file}: packet ${n} has link type ${link}; filters read Ethernet captures only`);
        if (match(pkt.data, pkt.origLen)) out.line(String(n));
      }
    } catch (err) {
      out.flush();
      if (err instanceof CaptureFormatError) {
        console.error(`bypass-scope filter: ${file}: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      reader.close();
    }
    out.flush();
    return 0;
  },
};

export const steerCommand: Command = {
  name: 'steer',
  summary: 'show how rules steer each packet of a capture, and per-rule totals',
  help: `usage: bypass-scope steer FILE --rules RULES [--json]

Replays every packet of FILE (pcap or pcapng, Ethernet) through the engine's capture pipeline (the
pcap backend, the NIC and the emulated kernel, tracing off) with the steering of RULES (a .bypass
file) and per-flow pinning, as the engine does live: the first packet of each flow is classified by
the first matching rule, later packets follow the flow. Prints, per packet:
  NUMBER PATH RULE SUMMARY
where PATH is bypass, kernel or drop and RULE is 'line N' of the rules file or 'default'; then
per-rule totals of packets, bytes and flows.

options:
  --rules FILE   the .bypass rules (required); a file with errors is refused with its diagnostics
  --json         one JSON object per packet, then one with the totals
  -h, --help     this text`,
  run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { rules: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new CliError('want one capture FILE');
    if (!values.rules) throw new CliError('--rules FILE is required');
    const set = parseRules(readTextFile(values.rules, 'rules file'));
    if (!set.ok) {
      for (const d of set.diagnostics) console.error(formatDiagnostic(values.rules, d));
      throw new CliError(`${values.rules} has errors; nothing steered`);
    }
    return steerFile(positionals[0], values.rules, set, values.json ?? false);
  },
};

function ruleLabel(set: RuleSet, rule: number): string {
  if (rule === RULE_DEFAULT) return 'default';
  if (rule === RULE_LOCAL_PIN) return 'local';
  if (rule === RULE_EARLIER_RULES) return 'earlier-rules';
  return `line ${set.rules[rule].range.line}`;
}

/**
 * Replays FILE through the engine's own pipeline — the pcap backend, the NIC's steering with per-flow
 * pinning, the emulated kernel's and the bypass path's receive checks — with tracing off, and prints
 * each packet's steering as it comes out.
 */
async function steerFile(file: string, rulesFile: string, set: RuleSet, json: boolean): Promise<number> {
  let session: CaptureSession;
  try {
    session = new CaptureSession({ rules: set, backend: pcapBackend({ file }), traceLevel: 'off' });
  } catch (err) {
    throw new CliError(`capture file ${fileProblem(file, err)}`);
  }
  const steering = session.steering;
  const out = new OutputBuffer();
  const ctx = new SummaryContext();
  const paths = { bypass: 0, kernel: 0, drop: 0 };
  const flowsSeen = new Set<number>();
  let n = 0;
  session.onPacket.push((p) => {
    n++;
    const path = p.path === 'bypass' || p.path === 'kernel' || p.path === 'drop' ? p.path : 'kernel';
    paths[path]++;
    const summary = summarize(dissect(p.frame, LINKTYPE_ETHERNET), p.wireLen, ctx);
    const newFlow = p.flowId !== 0 && !flowsSeen.has(p.flowId);
    if (newFlow) flowsSeen.add(p.flowId);
    if (json) out.line(JSON.stringify({ number: n, path, rule: p.rule, ruleLine: p.rule >= 0 ? set.rules[p.rule].range.line : null, flow: p.flowId, newFlow, summary }));
    else out.line(`${n} ${path} ${ruleLabel(set, p.rule)} ${summary}`);
  });
  await session.run({});
  let status = 0;
  for (const problem of session.problems) {
    out.flush();
    console.error(`bypass-scope steer: ${problem}`);
    status = 1;
  }
  const c = steering.counters;
  const totals = set.rules.map((rule, i) => ({ line: rule.range.line, action: rule.action, filter: rule.filterText, packets: c.packets[i], bytes: c.bytes[i], flows: c.flows[i] }));
  const d = set.rules.length;
  const deflt = { action: set.defaultAction, packets: c.packets[d], bytes: c.bytes[d], flows: c.flows[d] };
  if (json) out.line(JSON.stringify({ totals: { packets: n, paths, rules: totals, default: deflt } }));
  else {
    out.line('');
    out.line(`${n} packets: ${paths.bypass} bypass, ${paths.kernel} kernel, ${paths.drop} dropped; ${steering.flows.counters.inserted} flows`);
    const name = rulesFile.split('/').pop() ?? rulesFile;
    const w = Math.max(7, ...totals.map((t) => `${name}:${t.line}`.length));
    out.line(`  ${'rule'.padEnd(w)} ${'action'.padEnd(7)} ${'packets'.padStart(9)} ${'bytes'.padStart(11)} ${'flows'.padStart(6)}  filter`);
    for (const t of totals) out.line(`  ${`${name}:${t.line}`.padEnd(w)} ${t.action.padEnd(7)} ${String(t.packets).padStart(9)} ${String(t.bytes).padStart(11)} ${String(t.flows).padStart(6)}  ${t.filter}`);
    out.line(`  ${'default'.padEnd(w)} ${deflt.action.padEnd(7)} ${String(deflt.packets).padStart(9)} ${String(deflt.bytes).padStart(11)} ${String(deflt.flows).padStart(6)}`);
  }
  out.flush();
  return status;
}
