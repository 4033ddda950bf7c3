import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM, serve } from '../test/webview/support';
(async () => {
  const { server, base } = await serve();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox','--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${base}/test/webview/harness.html?mode=live&scale=63`);
  await page.waitForSelector('#packet-list');
  await page.evaluate(`(() => { const s = document.getElementById('packet-list'); let dir = 1; const f = () => { const max = s.scrollHeight - s.clientHeight; if (s.scrollTop >= max - 24) dir = -1; if (s.scrollTop <= 24) dir = 1; s.scrollTop += dir * 24; requestAnimationFrame(f); }; requestAnimationFrame(f); })()`);
  await browser.startTracing(page, { path: '/tmp/wv-trace.json', categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
  await page.evaluate(`window.__host.stream(16, 320)`);
  await browser.stopTracing();
  await browser.close(); server.close();
  const t = JSON.parse(readFileSync('/tmp/wv-trace.json','utf8'));
  const ev = t.traceEvents ?? t;
  // main thread: the one with most RunTask under renderer
  const tasks = ev.filter((e: any) => e.name === 'RunTask' && e.dur > 12000);
  const byTid = new Map<number, number>(); for (const e of ev) if (e.name==='RunTask') byTid.set(e.tid,(byTid.get(e.tid)??0)+ (e.dur??0));
  console.log('long tasks', tasks.length);
  const main = [...byTid].sort((a,b)=>b[1]-a[1])[0][0];
  for (const tk of tasks.filter((e:any)=>e.tid===main).slice(0,15)) {
    const kids = ev.filter((e: any) => e.tid === tk.tid && e.ts >= tk.ts && e.ts < tk.ts + tk.dur && e.dur > 1500 && e.name !== 'RunTask');
    console.log((tk.dur/1000).toFixed(1), kids.map((k: any) => `${k.name}${k.args?.data?.functionName ? ':'+k.args.data.functionName : ''}${k.args?.data?.type ? ':'+k.args.data.type : ''} ${(k.dur/1000).toFixed(1)}`).join(' | ').slice(0, 600));
  }
})();
