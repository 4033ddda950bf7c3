// engine: the `bypass-scope` command line — one subcommand per job, each in engine/cli/.
import { CliError } from './cli/args';
import { captureCommand } from './cli/capture';
import { decodeCommand } from './cli/decode';
import { filterCommand, rulesCommand, steerCommand } from './cli/rules';

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(argv: string[]): Promise<number> | number;
}

const commands: readonly Command[] = [captureCommand, decodeCommand, filterCommand, rulesCommand, steerCommand];

const usage = `bypass-scope — the Bypass Scope engine on the command line

usage: bypass-scope <command> [options]

commands:
${commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run 'bypass-scope <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`bypass-scope: unknown command '${name}' (try 'bypass-scope --help')`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`bypass-scope ${command.name}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** Runs the command line of this process and exits with its code (bin/bypass-scope.js calls it too). */
export function runFromCommandLine(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`bypass-scope: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(2);
    },
  );
}

if (require.main === module) runFromCommandLine();
