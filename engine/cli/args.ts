// cli: argument parsing shared by the subcommands — Node's parseArgs with one-line errors.
import { writeSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake by the user: printed as one line, exit status 1. */
export class CliError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs messages are long and mention internals; keep the first sentence.
    const message = String((err as Error).message).split('. ')[0].replace(/^Unknown option '(.*)'$/, "unknown option '$1'");
    throw new CliError(message);
  }
}

/** A non-negative integer flag value, or a CliError naming the flag. */
export function integerFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new CliError(`--${name} wants an integer ≥ ${min}, got '${value}'`);
  return Number(value);
}

/**
 * Output written to stdout in large chunks: per-line process.stdout.write is far too slow for
 * millions of lines. Text goes in with `line`; byte writers fill `bytes` from `pos` directly, after
 * asking for `room`.
 */
export class OutputBuffer {
  /** Bytes not yet written out are bytes[0, pos). */
  bytes: Buffer;
  pos = 0;

  constructor(private readonly fd = 1, capacity = 1 << 18) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `n` more bytes at `pos`, writing out what is buffered when it must. */
  room(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    this.flush();
    if (n > this.bytes.length) this.bytes = Buffer.allocUnsafe(n);
  }

  /** Appends `text` (UTF-8) and a newline. */
  line(text: string): void {
    // UTF-8 takes at most 3 bytes for each UTF-16 code unit.
    this.room(3 * text.length + 1);
    this.pos += this.bytes.write(text, this.pos, 'utf8');
    this.bytes[this.pos++] = 10;
  }

  flush(): void {
    if (this.pos === 0) return;
    writeAllSync(this.fd, this.bytes, this.pos);
    this.pos = 0;
  }
}

function writeAllSync(fd: number, bytes: Uint8Array, length: number): void {
  let off = 0;
  while (off < length) {
    try {
      off += writeSync(fd, bytes, off, length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // stdout is a non-blocking pipe
      if (code === 'EPIPE') process.exit(0); // reader went away (`| head`)
      throw err;
    }
  }
}
