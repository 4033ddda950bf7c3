// extension: "Decode Capture File…" — runs the engine's decoder on a pcap/pcapng file and shows its output.
import * as vscode from 'vscode';
import { fork } from 'node:child_process';
import * as path from 'node:path';

const MAX_PACKETS = 100_000;

export async function decodeCaptureCommand(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  uri?: vscode.Uri,
): Promise<void> {
  const file =
    uri ??
    (
      await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: { 'Packet captures': ['pcap', 'pcapng', 'cap'], 'All files': ['*'] },
        openLabel: 'Decode',
      })
    )?.[0];
  if (!file) return;
  const cli = path.join(context.extensionPath, 'out', 'engine', 'cli.js');
  log.info(`decode ${file.fsPath}`);
  const { code, stdout, stderr } = await runEngine(cli, ['decode', file.fsPath, '--count', String(MAX_PACKETS)]);
  if (stderr) log.warn(stderr.trim());
  const doc = await vscode.workspace.openTextDocument({ content: stdout + (stderr ? `\n${stderr}` : ''), language: 'log' });
  await vscode.window.showTextDocument(doc, { preview: true });
  if (code !== 0) void vscode.window.showErrorMessage(`Bypass Scope: ${stderr.trim().split('\n').pop() ?? 'decode failed'}`);
}

function runEngine(cli: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = fork(cli, args, { silent: true });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: 1, stdout, stderr: stderr + String(err) }));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
