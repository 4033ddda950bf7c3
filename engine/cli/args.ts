// cli: argument parsing shared by the subcommands — Node's parseArgs with one-line errors.
import { readFileSync, writeSync } from 'node:fs';
import { CaptureFormatError } from '../trace/capture-format';
import { openCaptureFile, type CaptureFileReader } from '../trace/capture-file';
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

/** Why a file could not be used, in the words a user expects. */
export function fileProblem(path: string, err: unknown): string {
  if (err instanceof CaptureFormatError) return `${path}: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return `${path}: no such file`;
  if (e.code === 'EACCES') return `${path}: permission denied`;
  if (e.code === 'EISDIR') return `${path}: is a directory`;
  return `${path}: ${e.message}`;
}

/** A text file's contents, or a CliError saying what `what` (e.g. "rules file") could not be read. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`${what} ${fileProblem(path, err)}`);
  }
}

/** A capture file opened for reading, or a CliError saying why it cannot be. */
export function openCaptureInput(path: string): CaptureFileReader {
  try {
    return openCaptureFile(path);
  } catch (err) {
    throw new CliError(fileProblem(path, err));
  }
}
