// cli: `bypass-scope decode` — one line per packet of a pcap/pcapng file in tcpdump's style, or JSON.
import { CaptureFormatError } from '../trace/capture-format';
import { dissect } from '../wire/dissect';
import { dissectionToJson } from '../wire/dissect-json';
import { FAST_SUMMARY_ROOM, FastSummary, writeDecimal, writeSixDigits } from '../wire/fast-summary';
import { SummaryContext, summarize } from '../wire/summary';
import { CliError, OutputBuffer, integerFlag, parseCommandArgs, openCaptureInput } from './args';
import type { Command } from '../cli';

const help = `usage: bypass-scope decode FILE [options]

Prints every packet of a pcap or pcapng capture, one line each, as tcpdump -n does:
  NUMBER TIME SUMMARY
  14 0.214868 IP 198.18.0.1.39352 > 198.18.0.2.8080: Flags [S], seq 719599019, win 64240, options [mss 1460,sackOK,TS val 2801170599 ecr 0,nop,wscale 10], length 0

Reads pcap (micro- or nanosecond, either byte order) and pcapng (several sections and interfaces,
any if_tsresol) in bounded memory. Link types: Ethernet (with 802.1Q/802.1ad tags), raw IP,
Linux cooked (SLL), BSD loopback. Decodes ARP/RARP, IPv4 (options, fragments), ICMP, IPv6 (extension
headers), ICMPv6 (echo, errors, neighbour discovery), TCP (all options in use) and UDP.

options:
  --json             one JSON object per packet with every layer's fields, byte ranges, problems
                     and notes
  --count N          stop after N packets (like tcpdump -c)
  --time MODE        rel: seconds since the first packet (default); abs: Unix time (tcpdump -tt);
                     delta: since the previous packet (tcpdump -ttt)
  --absolute-seq     print TCP sequence numbers as on the wire (tcpdump -S); by default they are
                     relative to the connection's first ACK-bearing segment, as tcpdump prints them
  --problems         after the summary, list what is wrong with the packet (bad checksums,
                     malformed headers with their byte offsets, captures cut short) after '!',
                     and notes after '~': a TCP/UDP checksum that holds exactly the pseudo-header
                     sum is partial, left to the device (checksum offload), not bad — what a
                     host with offloads hands tcpdump for the packets it sends (tcpdump -vv says
                     "incorrect", Wireshark does not check it by default)
  -h, --help         this text

A damaged or truncated file: every packet before the damage is printed, then one line naming the
byte offset of the damage, and the exit status is 1. Exit status 0 otherwise.`;

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'print the packets of a pcap/pcapng file, tcpdump-style or as JSON',
  help,
  run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      count: { type: 'string' },
      time: { type: 'string' },
      'absolute-seq': { type: 'boolean' },
      problems: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new CliError(positionals.length ? `one FILE wanted, got ${positionals.length}` : 'FILE is missing (bypass-scope decode FILE)');
    const count = integerFlag('count', values.count, 1) ?? Infinity;
    const timeMode = values.time ?? 'rel';
    if (timeMode !== 'rel' && timeMode !== 'abs' && timeMode !== 'delta') throw new CliError(`--time wants rel, abs or delta, got '${timeMode}'`);
    return decodeFile(positionals[0], { json: values.json ?? false, count, timeMode, absoluteSeq: values['absolute-seq'] ?? false, problems: values.problems ?? false });
  },
};

interface DecodeOptions {
  json: boolean;
  count: number;
  timeMode: 'rel' | 'abs' | 'delta';
  absoluteSeq: boolean;
  problems: boolean;
}

function decodeFile(path: string, o: DecodeOptions): number {
  const reader = openCaptureInput(path);
  const out = new OutputBuffer();
  const ctx = new SummaryContext(o.absoluteSeq);
  // Plain lines come from the byte-level fast path where it can; --json and --problems need the dissection.
  const fast = o.json || o.problems ? undefined : new FastSummary(ctx);
  let n = 0;
  let firstSec = 0;
  let firstNsec = 0;
  let prevSec = 0;
  let prevNsec = 0;
  try {
    for (const pkt of reader) {
      n++;
      if (n === 1) {
        firstSec = prevSec = pkt.tsSec;
        firstNsec = prevNsec = pkt.tsNsec;
      }
      const linkType = reader.interfaces[pkt.interfaceId]?.linkType ?? 1;
      if (fast) {
        out.room(LINE_ROOM);
        const b = out.bytes;
        let p = writeDecimal(b, out.pos, n);
        b[p++] = 32;
        p =
          o.timeMode === 'abs'
            ? writeTime(b, p, pkt.tsSec, pkt.tsNsec)
            : o.timeMode === 'rel'
              ? writeDiff(b, p, pkt.tsSec, pkt.tsNsec, firstSec, firstNsec)
              : writeDiff(b, p, pkt.tsSec, pkt.tsNsec, prevSec, prevNsec);
        b[p++] = 32;
        prevSec = pkt.tsSec;
        prevNsec = pkt.tsNsec;
        const end = fast.write(pkt.data, linkType, pkt.origLen, b, p);
        if (end >= 0) {
          b[end] = 10;
          out.pos = end + 1;
        } else {
          out.pos = p;
          out.line(summarize(dissect(pkt.data, linkType), pkt.origLen, ctx));
        }
        if (n >= o.count) break;
        continue;
      }
      const d = dissect(pkt.data, linkType);
      const time =
        o.timeMode === 'abs'
          ? formatTime(pkt.tsSec, pkt.tsNsec)
          : o.timeMode === 'rel'
            ? formatDiff(pkt.tsSec, pkt.tsNsec, firstSec, firstNsec)
            : formatDiff(pkt.tsSec, pkt.tsNsec, prevSec, prevNsec);
      prevSec = pkt.tsSec;
      prevNsec = pkt.tsNsec;
      if (o.json) {
        const record: Record<string, unknown> = {
          number: n,
          time,
          timestamp: `${pkt.tsSec}.${String(pkt.tsNsec).padStart(9, '0')}`,
          interface: pkt.interfaceId,
          capLen: pkt.capLen,
          len: pkt.origLen,
          summary: summarize(d, pkt.origLen, ctx),
          layers: d.layers,
          ...dissectionToJson(d),
          problems: d.problems,
        };
        if (d.notes.length > 0) record.notes = d.notes;
        if (pkt.comment !== undefined) record.comment = pkt.comment;
        if (pkt.direction !== undefined) record.direction = pkt.direction;
        out.line(JSON.stringify(record));
      } else {
        let line = `${n} ${time} ${summarize(d, pkt.origLen, ctx)}`;
        if (o.problems) {
          for (const p of d.problems) line += `\n    ! ${p.layer} at byte ${p.offset}: ${p.message}`;
          for (const p of d.notes) line += `\n    ~ ${p.layer} at byte ${p.offset}: ${p.message}`;
        }
        out.line(line);
      }
      if (n >= o.count) break;
    }
  } catch (err) {
    out.flush();
    if (err instanceof CaptureFormatError) {
      console.error(`bypass-scope decode: ${path}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    reader.close();
  }
  out.flush();
  return 0;
}

/** Room for a line number, a time and a fast-path summary. */
const LINE_ROOM = FAST_SUMMARY_ROOM + 64;

/** formatTime, written as bytes. */
function writeTime(b: Uint8Array, p: number, sec: number, nsec: number): number {
  p = writeDecimal(b, p, sec);
  b[p++] = 46;
  const us = Math.floor(nsec / 1000);
  if (us >= 0 && us <= 999_999) return writeSixDigits(b, p, us);
  const text = String(us).padStart(6, '0');
  for (let i = 0; i < text.length; i++) b[p + i] = text.charCodeAt(i);
  return p + text.length;
}

/** formatDiff, written as bytes. */
function writeDiff(b: Uint8Array, p: number, sec: number, nsec: number, baseSec: number, baseNsec: number): number {
  let s = sec - baseSec;
  let ns = nsec - baseNsec;
  if (ns < 0) {
    s -= 1;
    ns += 1e9;
  }
  if (s < 0) {
    b[p] = 45;
    return writeDiff(b, p + 1, baseSec, baseNsec, sec, nsec);
  }
  return writeTime(b, p, s, ns);
}

function formatTime(sec: number, nsec: number): string {
  return `${sec}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

function formatDiff(sec: number, nsec: number, baseSec: number, baseNsec: number): string {
  let s = sec - baseSec;
  let ns = nsec - baseNsec;
  if (ns < 0) {
    s -= 1;
    ns += 1e9;
  }
  if (s < 0) return '-' + formatDiff(baseSec, baseNsec, sec, nsec);
  return formatTime(s, ns);
}
