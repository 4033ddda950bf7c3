// test/extension/integration: what the extension-host tests share — the extension's API (activate's
// return value), polling with a deadline that says what it waited for, scratch files, and a clean
// slate between tests (no live capture).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { BypassScopeApi } from '../../../extension/extension';
import type { Capture, CaptureRequest } from '../../../extension/capture-controller';

export const EXTENSION_ID = 'bypass-scope.bypass-scope';

export async function api(): Promise<BypassScopeApi> {
  const ext = vscode.extensions.getExtension<BypassScopeApi>(EXTENSION_ID);
  if (ext === undefined) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

export function extensionPath(...parts: string[]): string {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (ext === undefined) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return join(ext.extensionPath, ...parts);
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let scratch: string | undefined;

/** A file in this run's scratch folder (outside the workspace). */
export function scratchFile(name: string, content?: string | Uint8Array): vscode.Uri {
  scratch ??= mkdtempSync(join(tmpdir(), 'bypass-scope-itest-'));
  const p = join(scratch, name);
  if (content !== undefined) writeFileSync(p, content);
  return vscode.Uri.file(p);
}

/** Stops a live capture, so that each test starts from none running. */
export async function noLiveCapture(a: BypassScopeApi): Promise<void> {
  if (a.controller.live !== undefined) await a.controller.stop();
}

/** Starts a capture through the command (every question answered) and waits until it runs. */
export async function startCapture(a: BypassScopeApi, request: Partial<CaptureRequest>): Promise<Capture> {
  const c = (await vscode.commands.executeCommand('bypassScope.startCapture', { backend: 'sim', scenario: 'mixed', rulesUri: undefined, impairment: 'none', ...request })) as Capture | undefined;
  if (c === undefined) throw new Error(`Start Capture did not start a capture (current: ${a.controller.current?.state} ${a.controller.current?.error ?? ''})`);
  return c;
}

/** A capture of the whole mixed scenario, as fast as the engine runs it, finished. */
export async function finishedMixedCapture(a: BypassScopeApi, request: Partial<CaptureRequest> = {}): Promise<Capture> {
  await noLiveCapture(a);
  const c = await startCapture(a, { speed: 'max', lossless: true, ...request });
  await until(`capture ${c.serial} to stop (it is ${c.state})`, () => c.state === 'stopped', 60_000);
  return c;
}
