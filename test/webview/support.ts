// test/webview support: a static server on 127.0.0.1 for the built webview and the harness, and
// headless Chromium (Debian's, through playwright-core) with the project's fixed flags.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const root = join(__dirname, '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const shots = join(root, 'test-results', 'webview');

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json' };
/** Only these folders are served. */
const SERVED = ['out/webview/', 'test/webview/', 'test/fixtures/webview/'];

export async function serve(): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)).replace(/^[/\\]+/, '');
    if (path.includes('..') || !SERVED.some((s) => path.startsWith(s.replace(/\//g, sep)))) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(root, path)).then(
      // Cross-origin isolated, so that performance.now() and frame times have microsecond resolution, not 100 µs.
      (body) => res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, base: `http://127.0.0.1:${port}` };
}

/** Empties the screenshot folder, so that what is there after a run is that run's. */
export function clearShots(): void {
  rmSync(shots, { recursive: true, force: true });
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface Opened {
  page: Page;
  errors: string[];
}

/** Opens the harness and waits until the list shows the recorded trace, all of it decoded. */
export async function open(browser: Browser, base: string, query = '', width = 1600, height = 1000, waitForRows = true): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon|Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${base}/test/webview/harness.html${query}`);
  if (waitForRows) {
    await page.waitForSelector('#packet-list .row');
    // Settled: every batch decoded (the list moves while it fills, and a click on a moving row waits).
    // (Typed without the DOM library: the benchmark, type-checked without it, imports this file.)
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document;
      return !/decoding/.test(doc.getElementById('status')?.textContent ?? 'decoding');
    }, undefined, { timeout: 60000 });
  }
  return { page, errors };
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}
