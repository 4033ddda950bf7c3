// test/webview: a stand-in for the extension host — `acquireVsCodeApi` (state kept in sessionStorage,
// so a reload restores it as VS Code's getState does) and a host that answers the webview's requests
// from the recorded trace (test/fixtures/webview/trace.json, real engine output).
// Query: ?mode=replay (default: the range request gets everything) | live (batches stream in);
// ?trace=NAME (test/fixtures/webview/trace-NAME.json; default trace.json, the recorded sim capture; lab-shaped:
// the same packets with synthetic lab-like hop timing); ?scale=N (the trace's packets N times over,
// ids and times shifted: volume tests); ?noanswer=1 (the host never answers a request); ?ring=1 (the
// host answers ranges as the extension's capture store does: the packets with ids in the range, the
// newest N when asked so, and what it holds as an extent, sent while it streams too).
(() => {
  const params = new URLSearchParams(location.search);
  const mode = params.get('mode') ?? 'replay';
  const scale = Number(params.get('scale') ?? '1');
  const noAnswer = params.get('noanswer') === '1';
  const ring = params.get('ring') === '1';
  const traceName = /^[a-z-]+$/.test(params.get('trace') ?? '') ? `trace-${params.get('trace')}` : 'trace';
  const host = { sent: [], batches: [], connections: [], stats: [], ready: false, fixture: undefined };
  window.__host = host;
  host.violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    host.violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber, column: e.columnNumber });
  });

  const post = (m) => window.postMessage(m, '*');

  function toBuffer(b64) {
    const s = atob(b64);
    const u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u.buffer;
  }

  /** Copy k of a batch: packet records only, ids and times shifted, no connection. */
  function shifted(batch, k, idShift, timeShift) {
    const src = new Uint8Array(batch.records);
    const v = new DataView(batch.records);
    const parts = [];
    let n = 0;
    for (let at = 0; at < src.length;) {
      const len = v.getUint32(at + 4, true);
      if (src[at] === 1) {
        const rec = src.slice(at, at + len);
        const rv = new DataView(rec.buffer);
        rv.setUint32(8, rv.getUint32(8, true) + idShift * k, true);
        rv.setUint32(16, 0, true);
        rv.setFloat64(24, rv.getFloat64(24, true) + timeShift * k, true);
        parts.push(rec);
        n++;
      }
      at += len;
    }
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return { ...batch, seq: batch.seq + k * 100000, records: out.buffer, recordCount: n };
  }

  function ruleLabels(text) {
    const out = [];
    text.split('\n').forEach((line, i) => {
      const m = /^\s*(bypass|kernel|drop)\s+([^#]*)/.exec(line);
      if (m) out.push({ index: out.length, line: i + 1, action: m[1], filter: m[2].trim() });
    });
    return out;
  }

  const loaded = fetch(`/test/fixtures/webview/${traceName}.json`).then((r) => r.json()).then((f) => {
    host.fixture = f;
    const base = f.batches.map((b) => ({ ...b, records: toBuffer(b.records) }));
    let maxId = 0;
    let maxTime = 0;
    for (const b of base) {
      const v = new DataView(b.records);
      for (let at = 0; at < b.records.byteLength;) {
        const len = v.getUint32(at + 4, true);
        if (v.getUint8(at) === 1) { maxId = Math.max(maxId, v.getUint32(at + 8, true)); maxTime = Math.max(maxTime, v.getFloat64(at + 24, true)); }
        at += len;
      }
    }
    host.batches = base.slice();
    for (let k = 1; k < scale; k++) for (const b of base) host.batches.push(shifted(b, k, maxId, maxTime + 1e6));
    host.connections = f.connections;
    host.stats = f.stats;
    host.rules = ruleLabels(f.rules);
    host.packetCount = maxId * scale;
  });

  /** One packet's record as a batch of its own, with every string the trace has (its reasons may be interned anywhere before). */
  function detail(packetId) {
    const strings = host.batches.flatMap((b) => b.strings);
    for (const b of host.batches) {
      const v = new DataView(b.records);
      for (let at = 0; at < b.records.byteLength;) {
        const len = v.getUint32(at + 4, true);
        if (v.getUint8(at) === 1 && v.getUint32(at + 8, true) === packetId) {
          return { schema: b.schema, seq: 0, records: b.records.slice(at, at + len), recordCount: 1, strings, dropped: 0 };
        }
        at += len;
      }
    }
    return undefined;
  }

  /** Every packet record the host has (ring mode): id, bytes, in id order; and the transition records. */
  let index;
  function recordIndex() {
    if (index) return index;
    const packets = [];
    const transitions = [];
    const strings = new Map();
    for (const b of host.batches) {
      for (const [k, v] of b.strings) strings.set(k, v);
      const src = new Uint8Array(b.records);
      const v = new DataView(b.records);
      for (let at = 0; at < src.length;) {
        const len = v.getUint32(at + 4, true);
        if (src[at] === 1) packets.push({ id: v.getUint32(at + 8, true), bytes: src.subarray(at, at + len) });
        else transitions.push(src.subarray(at, at + len));
        at += len;
      }
    }
    packets.sort((a, b) => a.id - b.id);
    index = { packets, transitions, strings: [...strings.entries()] };
    return index;
  }

  /** Records as batches of at most 2,000, each with every string. */
  function asBatches(records, strings) {
    const out = [];
    for (let i = 0; i < records.length; i += 2000) {
      const part = records.slice(i, i + 2000);
      const buf = new Uint8Array(part.reduce((a, r) => a + r.length, 0));
      let o = 0;
      for (const r of part) { buf.set(r, o); o += r.length; }
      out.push({ schema: host.batches[0].schema, seq: 900000 + out.length, records: buf.buffer, recordCount: part.length, strings, dropped: 0 });
    }
    return out;
  }

  /** Ring mode: the packets the host "holds" now (all of them, or those streamed so far). */
  host.heldUpTo = mode === 'live' ? 0 : Infinity;
  function ringAnswer(m) {
    const ix = recordIndex();
    const held = ix.packets.filter((p) => p.id <= host.heldUpTo);
    let picked = held.filter((p) => p.id >= m.fromId && p.id <= m.toId);
    if (m.newest !== undefined) picked = picked.slice(Math.max(0, picked.length - m.newest));
    const records = picked.map((p) => p.bytes);
    if (m.newest !== undefined) records.push(...ix.transitions);
    host.ranges = (host.ranges ?? 0) + 1;
    const extent = held.length ? { firstId: held[0].id, lastId: held[held.length - 1].id, held: held.length } : { firstId: 0, lastId: 0, held: 0 };
    return { batches: asBatches(records, ix.strings), connections: host.connections, extent };
  }

  function answer(m) {
    if (noAnswer) return;
    loaded.then(() => {
      if (m.type === 'scope/packetRange' && ring) {
        post({ type: 'scope/response', id: m.id, ok: true, result: ringAnswer(m) });
      } else if (m.type === 'scope/packetRange') {
        const batches = mode === 'live' ? [] : host.batches;
        post({ type: 'scope/response', id: m.id, ok: true, result: { batches, connections: mode === 'live' ? [] : host.connections } });
        if (mode !== 'live') for (const s of host.stats) post({ type: 'scope/stats', stats: s });
      } else if (m.type === 'scope/packetDetail') {
        const batch = detail(m.packetId);
        post(batch ? { type: 'scope/response', id: m.id, ok: true, result: { batch } } : { type: 'scope/response', id: m.id, ok: false, error: `packet ${m.packetId} is not in the capture store` });
      }
    });
  }

  /** Re-cuts batches into batches of exactly `n` records (the last may hold fewer), as a live engine cuts them by size. */
  function rebatch(batches, n) {
    const out = [];
    let parts = [], count = 0, strings = [], dropped = 0, seq = 1;
    const flush = () => {
      const len = parts.reduce((a, p) => a + p.length, 0);
      const records = new Uint8Array(len);
      let o = 0;
      for (const p of parts) { records.set(p, o); o += p.length; }
      out.push({ schema: batches[0].schema, seq: seq++, records: records.buffer, recordCount: count, strings, dropped });
      parts = []; count = 0; strings = []; dropped = 0;
    };
    for (const b of batches) {
      strings = strings.concat(b.strings);
      dropped += b.dropped;
      const src = new Uint8Array(b.records);
      const v = new DataView(b.records);
      for (let at = 0; at < src.length;) {
        const len = v.getUint32(at + 4, true);
        parts.push(src.subarray(at, at + len));
        count++;
        at += len;
        if (count === n) flush();
      }
    }
    if (count) flush();
    return out;
  }

  /**
   * Live mode: one batch every `ms` (re-cut to `perBatch` records each, when given), connections
   * first, statistics every 500 ms of wall time as the engine sends them; resolves with the number
   * of batches sent once the capture "stops". `prepare` does the re-cutting ahead, so that a
   * measurement sees only the streaming.
   */
  let prepared;
  host.prepare = (perBatch = 0) => loaded.then(() => {
    prepared = { perBatch, batches: perBatch > 0 ? rebatch(host.batches, perBatch) : host.batches };
    return prepared.batches.length;
  });
  host.stream = (ms = 40, perBatch = 0) => (prepared && prepared.perBatch === perBatch ? loaded : host.prepare(perBatch)).then(() => new Promise((resolve) => {
    const batches = prepared.batches;
    let i = 0;
    let statsAt = 0;
    for (const c of host.connections) post({ type: 'scope/connection', connection: c });
    // Ring mode: what the host holds grows with what it has streamed, and it says so as the extension does.
    host.heldUpTo = 0;
    let streamed = 0;
    const timer = setInterval(() => {
      if (i >= batches.length) {
        clearInterval(timer);
        if (host.stats.length) post({ type: 'scope/stats', stats: host.stats[host.stats.length - 1] });
        post({ type: 'scope/captureState', state: 'stopped', backend: 'sim', scenario: 'mixed', rules: host.rules });
        resolve(i);
        return;
      }
      post({ type: 'scope/traceBatch', batch: batches[i] });
      if (ring) {
        const v = new DataView(batches[i].records);
        for (let at = 0; at < batches[i].records.byteLength;) {
          const len = v.getUint32(at + 4, true);
          if (v.getUint8(at) === 1) { host.heldUpTo = Math.max(host.heldUpTo, v.getUint32(at + 8, true)); streamed++; }
          at += len;
        }
        if (i % 8 === 0 || i === batches.length - 1) post({ type: 'scope/extent', extent: { firstId: 1, lastId: host.heldUpTo, held: streamed } });
      }
      const now = performance.now();
      if (now - statsAt >= 500 || i === 0) {
        statsAt = now;
        const s = host.stats[Math.min(host.stats.length - 1, Math.floor((i * host.stats.length) / batches.length))];
        if (s) post({ type: 'scope/stats', stats: s });
      }
      i++;
    }, ms);
  }));

  window.acquireVsCodeApi = () => ({
    postMessage(m) {
      host.sent.push(m);
      if (m.type === 'scope/ready') {
        host.ready = true;
        loaded.then(() => post({ type: 'scope/captureState', state: mode === 'live' ? 'running' : 'stopped', backend: 'sim', scenario: 'mixed', rules: host.rules }));
      } else if (m.type === 'scope/packetRange' || m.type === 'scope/packetDetail') answer(m);
    },
    getState() {
      const s = sessionStorage.getItem('vscode-state');
      return s === null ? undefined : JSON.parse(s);
    },
    setState(s) {
      sessionStorage.setItem('vscode-state', JSON.stringify(s));
      return s;
    },
  });
})();
