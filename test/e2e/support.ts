// test/e2e: driving the real VS Code UI (code-server's workbench in headless Chromium, through
// playwright-core) — the command palette, quick picks, the visualizer's webview, screenshots into
// test-results/e2e/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';

export const root = join(__dirname, '..', '..');
export const shotsDir = join(root, 'test-results', 'e2e');

export type CodeServerModule = typeof import('../../scripts/code-server.mjs');

export function codeServer(): Promise<CodeServerModule> {
  return import('../../scripts/code-server.mjs');
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(shotsDir, { recursive: true });
  const path = join(shotsDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Waits for the workbench to be up: its frame, the status bar, and the extensions host settled. */
export async function workbenchReady(page: Page): Promise<void> {
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  await page.waitForSelector('.statusbar', { timeout: 60_000 });
}

/** Runs a command by its title from the command palette (F1). */
export async function palette(page: Page, title: string): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    // The palette's list is fixed when it opens: commands registered later need it opened again.
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 3000 });
      await page.keyboard.press('Enter');
      return;
    } catch {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  throw new Error(`the command palette never offered "${title}"`);
}

/** Waits for a quick pick whose title contains `title`, optionally shoots it, and accepts the item labelled `item` (or the first). */
export async function quickPick(page: Page, title: string, item?: string, shotName?: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: 20_000 });
  await page.waitForTimeout(300);
  if (shotName) await shot(page, shotName);
  if (item !== undefined) {
    await widget.locator('input').fill(item);
    // The items may come a moment after the title (the rules step searches the workspace first).
    await widget.locator('.monaco-list-row', { hasText: item }).first().waitFor({ state: 'visible', timeout: 20_000 });
  }
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: 10_000 });
}

/** The visualizer's content frame. */
export function visualizer(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** The packets the visualizer holds, from the count under the list (`N packets`, or `N packets of M (filtered)`). */
export async function packetCount(v: FrameLocator): Promise<number> {
  const t = (await v.locator('#packet-count').textContent({ timeout: 30_000 })) ?? '';
  const m = /of ([\d,]+) \(filtered\)/.exec(t) ?? /([\d,]+) packets/.exec(t);
  return m ? Number(m[1].replace(/,/g, '')) : 0;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
