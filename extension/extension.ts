// extension: activation — registers the commands and owns everything that must be disposed.
import * as vscode from 'vscode';
import { decodeCaptureCommand } from './decode-command';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Bypass Scope', { log: true });
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('bypassScope.decodeCapture', (uri?: vscode.Uri) =>
      decodeCaptureCommand(context, log, uri),
    ),
  );
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
