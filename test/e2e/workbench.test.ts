// test/e2e: the user's three verbs through code-server's real UI in headless Chromium — start a
// capture from the command palette and see packets take both paths in the visualizer, open a TCP
// connection and step it from SYN-SENT through ESTABLISHED to TIME-WAIT, edit a rule and see the
// steering change — and `npm start` opening the examples with a capture running. Screenshots go to
// test-results/e2e/.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { codeServer, packetCount, palette, quickPick, root, shot, until, visualizer, workbenchReady, type CodeServerModule } from './support';

let cs: CodeServerModule;

before(async () => {
  cs = await codeServer();
  const missing = cs.rigMissing();
  if (missing) throw new Error(missing);
});

/** The Path cells of the packet rows in view, e.g. ['bypass ↓', 'bypass ↑', …]. */
async function pathsInView(v: FrameLocator): Promise<string[]> {
  return v.locator('#packet-list .row .col-path').allTextContents();
}

function nonEmpty<T>(xs: T[]): T[] | undefined {
  return xs.length > 0 ? xs : undefined;
}

/** Applies a display filter and waits until the list shows it: the rows in view are the new filter's, not the last one's. */
async function filterPackets(v: FrameLocator, expr: string): Promise<void> {
  const input = v.locator('#filter input');
  await input.fill(expr);
  await input.press('Enter');
  const count = v.locator('#packet-count');
  await until(`the list filtered by '${expr}'`, async () => {
    const t = (await count.textContent()) ?? '';
    return expr === '' ? !t.includes('(filter:') : t.includes(`(filter: ${expr})`);
  });
}

describe('end to end in code-server', () => {
  let server: Awaited<ReturnType<CodeServerModule['startCodeServer']>>;
  let dir: string;
  let workspace: string;
  let browser: Awaited<ReturnType<CodeServerModule['launchBrowser']>>;
  let page: Page;

  before(async () => {
    // A scratch copy of the examples (the test edits its rules), without the start-on-open setting.
    workspace = mkdtempSync(join(tmpdir(), 'bypass-scope-e2e-ws-'));
    for (const f of ['routing.bypass', 'sample.pcapng']) copyFileSync(join(root, 'examples', f), join(workspace, f));
    dir = mkdtempSync(join(tmpdir(), 'bypass-scope-e2e-vscode-'));
    cs.linkExtension(dir);
    server = await cs.startCodeServer({ dir, workspace, settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
    browser = await cs.launchBrowser({ viewport: { width: 1600, height: 1000 } });
    page = await browser.context.newPage();
    await page.goto(cs.workbenchUrl(server, { folder: workspace }));
    await workbenchReady(page);
  });

  afterEach(async (t) => {
    // What the screen showed when a test failed.
    if (page !== undefined && (t as unknown as { passed?: boolean }).passed === false) await shot(page, `failed-${t.name.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workspace, { recursive: true, force: true });
  });

  it('starts a capture from the command palette and shows packets on both paths in the visualizer', async () => {
    // Before any capture the views say what to do.
    await palette(page, 'Bypass Scope: Focus on Captures View');
    await page.locator('.welcome-view-content', { hasText: 'No capture yet' }).first().waitFor({ timeout: 20_000 });
    await shot(page, '01-welcome');
    await palette(page, 'Bypass Scope: Start Capture');
    await quickPick(page, 'Start Capture (1/4)', 'sim', '01b-start-capture-backend');
    await quickPick(page, 'Start Capture (2/4)', 'mixed');
    await quickPick(page, 'Start Capture (3/4)', 'routing.bypass');
    await quickPick(page, 'Start Capture (4/4)', 'None');
    const v = visualizer(page);
    const n = await until('the mixed scenario\'s packets in the visualizer', async () => ((await packetCount(v)) >= 1380 ? packetCount(v) : undefined), 60_000);
    assert.ok(n >= 1380, `got ${n} packets`);
    // Both paths: the HTTP service (rule line 7) on bypass, echo (the default) on the kernel.
    await filterPackets(v, 'tcp port 7');
    const echo = await until('echo rows', async () => nonEmpty(await pathsInView(v)));
    assert.ok(echo.every((x) => x.startsWith('kernel')), `echo: ${echo.join(', ')}`);
    await filterPackets(v, 'tcp port 8080');
    const http = await until('http rows', async () => nonEmpty(await pathsInView(v)));
    assert.ok(http.every((x) => x.startsWith('bypass')), `http: ${http.join(', ')}`);
    await filterPackets(v, '');
    // A SYN,ACK from the bypass stack, its hops in the inspector.
    await filterPackets(v, 'tcp port 8080 and tcp[tcpflags] & tcp-syn != 0');
    await v.locator('#packet-list .row', { hasText: 'Flags [S.]' }).first().click();
    await v.locator('.inspector, #inspector').first().waitFor({ state: 'visible' });
    await page.waitForTimeout(500);
    await shot(page, '02-packets-both-paths');
    const status = (await page.locator('.statusbar-item', { hasText: 'bypassed' }).first().textContent()) ?? '';
    assert.match(status, /sim · mixed · .*\d+% bypassed/);
  });

  it('opens the bypass stack\'s connection to port 9000 and steps it from SYN-SENT through ESTABLISHED to TIME-WAIT', async () => {
    const v = visualizer(page);
    await palette(page, 'Bypass Scope: Focus on Connections View');
    const row = page.locator('.monaco-list-row', { hasText: ':9000' }).first();
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match((await row.textContent()) ?? '', /bypass · (TIME-WAIT|CLOSED)/);
    await row.click();
    await v.locator('#tab-connection').click();
    await until('the connection view on CLOSED, before its first transition', async () => ((await v.locator('#current-state').textContent()) === 'CLOSED' ? true : undefined));
    // Focus inside the visualizer: the stepping keys are bound while it has focus.
    await v.locator('#connection-view').click({ position: { x: 5, y: 5 } });
    const seen: string[] = [];
    for (const want of ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']) {
      await page.keyboard.press('F11');
      const got = await until(`the state after stepping to ${want} (seen ${seen.join(' → ')})`, async () => {
        const s = await v.locator('#current-state').textContent();
        return s === want ? s : undefined;
      }, 10_000);
      seen.push(got);
      // Six transitions once 2MSL has passed in the capture (TIME-WAIT → CLOSED), five before.
      assert.match((await v.locator('#step-counter').textContent()) ?? '', new RegExp(`^step ${seen.length} of [56]$`));
      if (got === 'ESTABLISHED') await shot(page, '03-connection-established');
    }
    assert.deepEqual(seen, ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
    assert.match((await v.locator('#step-event').textContent()) ?? '', /FIN-WAIT-2 → TIME-WAIT on “rcv FIN”/);
    await shot(page, '04-connection-time-wait');
    await page.keyboard.press('Shift+F11');
    await until('Step Back to FIN-WAIT-2', async () => ((await v.locator('#current-state').textContent()) === 'FIN-WAIT-2' ? true : undefined), 10_000);
  });

  it('edits a rule in routing.bypass, saves it, and the next capture steers port 8080 to the kernel', async () => {
    const v = visualizer(page);
    await palette(page, 'Bypass Scope: Stop Capture');
    await v.locator('#tab-packets').click();
    await filterPackets(v, 'tcp port 8080');
    const before = await until('port 8080 rows', async () => {
      const p = await pathsInView(v);
      return p.length > 0 ? p : undefined;
    });
    assert.ok(before.every((x) => x.startsWith('bypass')), `before the edit: ${before.join(', ')}`);
    // Open the rules and change line 7's action.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('routing.bypass');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'routing.bypass' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'tcp port 8080' }).waitFor();
    await page.keyboard.press('Control+G');
    await page.keyboard.type('7');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Home');
    await page.keyboard.press('Control+Shift+ArrowRight');
    await page.keyboard.type('kernel');
    // The editor's word suggestions, if any, go away before saving.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+S');
    await until('the saved rules on disk', async () => (/^kernel {2}tcp port 8080/m.test(readFileSync(join(workspace, 'routing.bypass'), 'utf8')) ? true : undefined));
    await shot(page, '05-rule-edited');
    // A new capture with the edited rules.
    await palette(page, 'Bypass Scope: Start Capture');
    await quickPick(page, 'Start Capture (1/4)', 'sim');
    await quickPick(page, 'Start Capture (2/4)', 'mixed');
    await quickPick(page, 'Start Capture (3/4)', 'routing.bypass');
    await quickPick(page, 'Start Capture (4/4)', 'None');
    await until('the new capture', async () => /^running · sim · mixed$/.test((await v.locator('#capture-state').textContent()) ?? '') ? true : undefined);
    await filterPackets(v, 'tcp port 8080');
    // The HTTP server listens on the userspace stack: steered to the kernel, its client's SYN finds no
    // socket there and the kernel answers with a reset, as Linux does.
    const afterEdit = await until('port 8080 rows on the kernel path', async () => {
      const p = await pathsInView(v);
      return p.length >= 2 && p.every((x) => x.startsWith('kernel')) ? p : undefined;
    });
    const rows = await v.locator('#packet-list .row').allTextContents();
    assert.ok(rows.some((r) => /drop at kernel\.tcp: tcp-no-socket/.test(r)), `after the edit: ${rows.join('\n')}`);
    assert.ok(rows.some((r) => /8080 > 198\.18\.0\.1\.\d+: Flags \[R\.\]/.test(r)), `after the edit: ${rows.join('\n')}`);
    assert.deepEqual(await v.locator('#packet-list .row.path-drop .col-rule').allTextContents(), ['L7 kernel']);
    assert.ok(afterEdit.length >= 2);
    await palette(page, 'Bypass Scope: Focus on Rules View');
    const rule = page.locator('.monaco-list-row', { hasText: 'kernel tcp port 8080' }).first();
    await rule.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match((await rule.textContent()) ?? '', /line 7 · 1 pkts · 1 flow/);
    await shot(page, '06-steering-changed');
  });
});

describe('npm start', () => {
  it('opens the examples workspace in the local VS Code with a sim capture running and the visualizer open, and prints its URL', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'bypass-scope-e2e-start-'));
    const port = await cs.freePort();
    const child = spawn(process.execPath, [join(root, 'scripts/start.mjs'), '--no-build', '--code-server', '--port', String(port)], {
      cwd: root,
      env: { ...process.env, BYPASS_SCOPE_START_DIR: profile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const browser = await cs.launchBrowser({ viewport: { width: 1600, height: 1000 } });
    try {
      const url = await until('the URL on stdout', async () => /(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)/.exec(out)?.[1], 60_000);
      assert.ok(url.startsWith(`http://127.0.0.1:${port}/`), `got ${url}`);
      const page = await browser.context.newPage();
      await page.goto(url);
      await workbenchReady(page);
      const v = visualizer(page);
      const n = await until('packets in the visualizer', async () => ((await packetCount(v)) > 1000 ? packetCount(v) : undefined), 60_000);
      assert.ok(n > 1000);
      assert.match((await v.locator('#capture-state').textContent()) ?? '', /^(running|stopped) · sim · mixed$/);
      await page.locator('.monaco-list-row', { hasText: /Capture 1 \(sim · mixed\)/ }).first().waitFor({ timeout: 20_000 });
      await page.waitForTimeout(800);
      await shot(page, '00-npm-start');
    } finally {
      await browser.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
