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

/** Text written to stdout in large chunks: per-line process.stdout.write is far too slow for millions of lines. */
export class OutputBuffer {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly fd = 1, private readonly limit = 1 << 16) {}

  line(text: string): void {
    this.parts.push(text);
    this.size += text.length + 1;
    if (this.size >= this.limit) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    writeAllSync(this.fd, text);
  }
}

function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // stdout is a non-blocking pipe
      if (code === 'EPIPE') process.exit(0); // reader went away (`| head`)
      throw err;
    }
  }
}
