// webview/main: the visualizer's entry — lays out the views, wires the message client to the store,
// and keeps the user's place (tab, filter, selection, connection step) in the webview state.
import './main.css';
import { HostClient } from './client';
import { ConnectionView } from './connection-view';
import { checkbox, registerControls, tabs, textField } from './controls';
import { compileFilter } from './filter';
import { Inspector } from './inspector';
import { PacketList } from './packet-list';
import type { HostMessage, ResponseMessage, WireBatch } from './protocol';
import { TraceStore } from './store';
import { FlowView } from './flow-view';
import { StatsView } from './stats-view';

interface SavedState {
  readonly tab?: string;
  readonly filter?: string;
  readonly selected?: number;
  readonly field?: string;
  readonly connId?: number;
  readonly step?: number;
  readonly follow?: boolean;
}

const TABS = [
  { key: 'packets', label: 'Packets' },
  { key: 'connection', label: 'TCP connection' },
  { key: 'flow', label: 'Flow' },
  { key: 'stats', label: 'Stats' },
];

function start(): void {
  registerControls();
  const store = new TraceStore();
  const root = document.getElementById('app') ?? document.body;
  root.classList.add('scope');

  // ---- toolbar: capture state, the filter (with its error shown under the column it points at), follow
  const toolbar = document.createElement('div');
  toolbar.className = 'toolbar';
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = 'Bypass Scope';
  toolbar.append(title);
  // A status label, not a control (the toolkit's badge sets an inline style, which the CSP refuses).
  const stateBadge = document.createElement('span');
  stateBadge.className = 'state-badge';
  stateBadge.id = 'capture-state';
  stateBadge.textContent = 'idle';
  toolbar.append(stateBadge);
  const filterBox = document.createElement('div');
  filterBox.className = 'filter-box';
  toolbar.append(filterBox);
  const filterError = document.createElement('div');
  filterError.className = 'filter-error';
  filterError.id = 'filter-error';
  filterError.setAttribute('role', 'alert');
  const follow = checkbox(toolbar, 'Follow', { id: 'follow', checked: true, onChange: (on) => { list.setFollow(on); save(); } });
  const status = document.createElement('span');
  status.className = 'status';
  status.id = 'status';
  toolbar.append(status);
  root.append(toolbar, filterError);

  let filterTimer = 0;
  const applyFilter = (text: string) => {
    const f = compileFilter(text);
    filterBox.classList.toggle('invalid', !f.ok);
    filterError.replaceChildren();
    if (!f.ok) {
      const where = document.createElement('div');
      where.className = 'filter-error-text';
      where.textContent = `column ${f.start + 1}: ${f.message}`;
      const src = document.createElement('pre');
      src.className = 'filter-error-source';
      src.textContent = `${text}\n${' '.repeat(f.start)}${'^'.repeat(Math.max(1, f.end - f.start))}`;
      filterError.append(where, src);
      return;
    }
    list.setFilter(f);
    save();
  };
  const filter = textField(filterBox, {
    id: 'filter',
    placeholder: 'filter: pcap-filter, as in the rules (e.g. tcp port 9000 and tcp[tcpflags] & tcp-syn != 0)',
    label: 'Display filter',
    onInput: (v) => {
      clearTimeout(filterTimer);
      filterTimer = window.setTimeout(() => applyFilter(v), 150);
    },
    onEnter: (v) => {
      clearTimeout(filterTimer);
      applyFilter(v);
      list.focus();
    },
  });

  // ---- views
  const views = tabs(root, TABS, (key) => {
    save();
    renderActive(key);
  });
  const packetsView = views.views.get('packets')!;
  packetsView.classList.add('packets-view');
  const list = new PacketList(
    packetsView,
    store,
    (id) => {
      inspector.show(id === undefined ? undefined : store.get(id));
      client.notify({ type: 'scope/selectionChanged', packetId: id });
      save();
    },
    (on) => {
      follow.set(on);
      save();
    },
  );
  const inspector = new Inspector(packetsView, () => save());
  const connection = new ConnectionView(views.views.get('connection')!, store, (id) => list.select(id), () => save());
  const flow = new FlowView(views.views.get('flow')!, store, (id) => list.select(id));
  const stats = new StatsView(views.views.get('stats')!, store);

  function renderActive(key = views.active()): void {
    if (key === 'packets') list.shown();
    if (key === 'connection') connection.refresh();
    flow.setActive(key === 'flow');
    if (key === 'stats') stats.render();
  }

  // ---- state
  const client = new HostClient(onMessage);
  const saved = (client.api.getState() ?? {}) as SavedState;
  let pendingSelect = saved.selected;
  let pendingField = saved.field;
  let pendingConn = saved.connId !== undefined ? { connId: saved.connId, step: saved.step ?? 0 } : undefined;
  function save(): void {
    client.api.setState({
      tab: views.active(),
      filter: filter.value(),
      selected: list.selected ?? pendingSelect,
      field: inspector.selectedField,
      connId: connection.connId,
      step: connection.step,
      follow: list.follow,
    } satisfies SavedState);
  }
  if (saved.filter) {
    filter.setValue(saved.filter);
    applyFilter(saved.filter);
  }
  if (saved.follow === false) {
    list.follow = false;
    follow.set(false);
  }
  if (saved.tab) views.activate(saved.tab);

  // ---- data: batches are queued as they arrive and decoded a slice per frame, so that a burst
  // never costs a frame; the heavier views redraw at most a few times a second while data streams.
  const DRAIN_BUDGET_MS = 5;
  const VIEW_REDRAW_MS = 250;
  let frame = 0;
  let lastViewRedraw = 0;
  const refresh = () => {
    if (frame) return;
    frame = requestAnimationFrame((now) => {
      frame = 0;
      store.drain(DRAIN_BUDGET_MS);
      if (store.pending > 0) refresh();
      list.ingest();
      if (pendingSelect !== undefined && store.get(pendingSelect)) {
        const id = pendingSelect;
        pendingSelect = undefined;
        list.select(id);
        if (pendingField) inspector.show(store.get(id), pendingField);
        pendingField = undefined;
      }
      if (pendingConn && store.transitionsOf(pendingConn.connId).length >= pendingConn.step) {
        const p = pendingConn;
        pendingConn = undefined;
        connection.pick(p.connId, p.step);
      }
      if (store.pending === 0 || now - lastViewRedraw >= VIEW_REDRAW_MS) {
        lastViewRedraw = now;
        renderActive();
      }
      status.textContent =
        `${store.count.toLocaleString('en-US')} packets · ${store.transitions.length} transitions · ${store.connectionIds().length} connections` +
        (store.pending ? ` · ${store.pending.toLocaleString('en-US')} decoding` : '') +
        (store.recordsDropped ? ` · ${store.recordsDropped} records sampled away` : '') +
        (store.lastError ? ` · ${store.lastError}` : '');
    });
  };
  const addBatches = (batches: readonly WireBatch[]) => {
    for (const b of batches) store.enqueue(b);
    refresh();
  };

  function onMessage(m: Exclude<HostMessage, ResponseMessage>): void {
    switch (m.type) {
      case 'scope/traceBatch':
        addBatches([m.batch]);
        break;
      case 'scope/connection':
        store.connections.set(m.connection.connId, m.connection);
        refresh();
        break;
      case 'scope/stats':
        store.stats.push(m.stats);
        refresh();
        break;
      case 'scope/captureState':
        stateBadge.textContent = `${m.state} · ${m.backend} · ${m.scenario}`;
        stateBadge.dataset.state = m.state;
        list.rules = m.rules;
        break;
      case 'scope/select':
        list.select(m.packetId);
        break;
      case 'scope/step':
        if (m.connId !== undefined && m.connId !== connection.connId) connection.pick(m.connId);
        connection.stepBy(m.direction === 'forward' ? 1 : -1);
        break;
      case 'scope/reset':
        store.reset();
        list.select(undefined);
        refresh();
        break;
    }
  }

  // ---- keyboard: / filters, Alt+1…4 switch views, ←/→ step (connection view)
  document.addEventListener('keydown', (e) => {
    const inField = e.composedPath().some((t) => t instanceof HTMLElement && t.tagName === 'VSCODE-TEXT-FIELD');
    if (e.key === '/' && !inField) {
      e.preventDefault();
      filter.focus();
    } else if (e.key === 'Escape' && inField) {
      list.focus();
    } else if (e.altKey && /^[1-4]$/.test(e.key)) {
      e.preventDefault();
      const key = TABS[Number(e.key) - 1].key;
      views.activate(key);
      renderActive(key);
      save();
      if (key === 'packets') list.focus();
      if (key === 'connection') connection.focus();
    } else if (e.key === 'Enter' && !inField && document.activeElement?.id === 'packet-list') {
      inspector.focusTree();
    }
  });

  client.notify({ type: 'scope/ready' });
  client
    .request('scope/packetRange', { fromId: 1, toId: 0xffffffff })
    .then((r) => {
      for (const c of r.connections) store.connections.set(c.connId, c);
      addBatches(r.batches);
    })
    .catch((e: Error) => {
      status.textContent = `the extension did not send the capture so far (${e.message}); showing live packets only`;
    });
  list.focus();
}

start();
