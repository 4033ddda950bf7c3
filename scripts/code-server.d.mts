// Types of scripts/code-server.mjs, for the TypeScript tests that use it (test/e2e).
import type { ChildProcess } from 'node:child_process';
import type { BrowserContext } from 'playwright-core';

export const root: string;
export const rigDir: string;
export const chromiumPath: string;
export function rigMissing(): string | undefined;
export function freePort(): Promise<number>;
export const QUIET_SETTINGS: Record<string, unknown>;
export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}
export function startCodeServer(options?: {
  workspace?: string;
  port?: number;
  dir?: string;
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  trust?: boolean;
  log?: 'inherit' | 'ignore' | ((line: string) => void);
  readyTimeoutMs?: number;
}): Promise<CodeServer>;
export function linkExtension(dir: string, extensionPath?: string): string;
export function workbenchUrl(server: CodeServer, options?: { folder?: string; extensionDevelopmentPath?: string; extensionTestsPath?: string }): string;
export const CHROMIUM_ARGS: readonly string[];
export function launchBrowser(options?: { viewport?: { width: number; height: number }; headless?: boolean }): Promise<{ context: BrowserContext; close(): Promise<void> }>;
