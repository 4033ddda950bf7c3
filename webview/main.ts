// webview/main: the visualizer's entry — lays out the views, wires the message client to the store,
// and keeps the user's place (tab, filter, selection, connection step) in the webview state.
import './main.css';
import { HostClient } from './client';
import { ConnectionView } from './connection-view';
import { checkbox, registerControls, tabs } from './controls';
import { FilterBox } from './filter-box';
import { Inspector } from './inspector';
import { PacketList } from './packet-list';
import type { HostMessage, ResponseMessage, WireBatch } from './protocol';
import { TraceStore } from './store';
import { FlowView, type FlowState } from './flow-view';
import { StatsView } from './stats-view';

interface SavedState {
  readonly tab?: string;
  readonly filter?: string;
  readonly selected?: number;
  readonly field?: string;
  readonly connId?: number;
  readonly step?: number;
  readonly follow?: boolean;
  /** Where the list was scrolled to, when it was not following. */
  readonly scrollTop?: number;
  readonly flow?: FlowState;
}

const TABS = [
  { key: 'packets', label: 'Packets' },
  { key: 'connection', label: 'TCP connection' },
  { key: 'flow', label: 'Flow' },
  { key: 'stats', label: 'Stats' },
];

function start(): void {
  registerControls();
  // The packets held here at most (the test page can make it smaller to test the bound quickly).
  const hold = Number(new URLSearchParams(location.search).get('hold') ?? '');
  const store = new TraceStore(Number.isInteger(hold) && hold >= 1000 ? hold : undefined);
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
  const filter = new FilterBox(toolbar, (f) => {
    list.setFilter(f);
    save();
  }, () => list.focus());
  const follow = checkbox(toolbar, 'Follow', { id: 'follow', checked: true, onChange: (on) => { list.setFollow(on); save(); } });
  const status = document.createElement('span');
  status.className = 'status';
  status.id = 'status';
  status.setAttribute('aria-live', 'polite');
  toolbar.append(status);
  root.append(toolbar);

  // ---- views
  const views = tabs(root, TABS, (key) => {
    save();
    showView(key);
  });
  const packetsView = views.views.get('packets')!;
  packetsView.classList.add('packets-view');
  const list = new PacketList(
    packetsView,
    store,
    (id) => {
      inspectorShows = id !== undefined && store.get(id) ? id : undefined;
      inspector.show(id === undefined ? undefined : store.get(id));
      flow.highlight(id);
      client.notify({ type: 'scope/selectionChanged', packetId: id });
      save();
    },
    (on) => {
      follow.set(on);
      save();
    },
    (fromId, toId) => askRange(fromId, toId),
  );
  const inspector = new Inspector(packetsView, () => save());
  let inspectorShows: number | undefined;
  let lastStep = '';
  /** The seq of the last host step or open applied: the host takes older reports as stale. */
  let hostSeq = 0;
  const connection = new ConnectionView(views.views.get('connection')!, store, (id) => list.select(id), () => reportStep());
  /** Tells the host where the connection view is (once per change of place or of the host step applied). */
  function reportStep(): void {
    save();
    reportIfChanged();
  }
  /** The connection last reported: its count of transitions is reported again as more arrive. */
  let reportedConn: number | undefined;
  function reportIfChanged(): void {
    const steps = connection.connId === undefined ? 0 : store.transitionsOf(connection.connId).length;
    const key = `${connection.connId}/${connection.step}/${steps}/${hostSeq}`;
    if (key !== lastStep) {
      lastStep = key;
      reportedConn = connection.connId;
      client.notify({ type: 'scope/stepChanged', connId: connection.connId, step: connection.step, steps, hostSeq });
    }
  }
  const flow = new FlowView(views.views.get('flow')!, store, (id) => list.select(id), () => save());
  const stats = new StatsView(views.views.get('stats')!, store);

  /** A view was chosen: it is laid out again (the list brings its live end or its selection into view). */
  function showView(key: string): void {
    if (key === 'packets') list.shown();
    renderActive(key);
  }

  /** New data: the shown view redraws (the list draws itself as rows arrive). */
  function renderActive(key = views.active()): void {
    if (key === 'connection') connection.refresh();
    flow.setActive(key === 'flow');
    if (key === 'flow') flow.refresh();
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
      scrollTop: list.follow ? undefined : list.scrollTop,
      flow: flow.state(),
    } satisfies SavedState);
  }
  if (saved.filter) {
    filter.setValue(saved.filter);
    filter.apply(saved.filter);
  }
  if (saved.follow === false) {
    list.follow = false;
    follow.set(false);
  }
  if (saved.tab) views.activate(saved.tab);
  if (saved.flow) flow.restore(saved.flow);
  let pendingScroll = saved.follow === false ? saved.scrollTop : undefined;

  // ---- data: batches are queued as they arrive and decoded a slice per frame, so that a burst
  // never costs a frame; the heavier views redraw at most a few times a second while data streams.
  const DRAIN_BUDGET_MS = 3;
  const VIEW_REDRAW_MS = 250;
  let frame = 0;
  let lastViewRedraw = 0;
  let viewTimer = 0;
  const refresh = () => {
    if (frame) return;
    frame = requestAnimationFrame((now) => {
      frame = 0;
      store.drain(DRAIN_BUDGET_MS);
      if (store.pending > 0) refresh();
      bound();
      list.ingest();
      // A selected packet that was not held when it was picked (a range on its way): shown once it is.
      if (list.selected !== undefined && inspectorShows !== list.selected && store.get(list.selected)) {
        inspectorShows = list.selected;
        inspector.show(store.get(list.selected));
      }
      if (pendingSelect !== undefined && store.get(pendingSelect)) {
        const id = pendingSelect;
        pendingSelect = undefined;
        list.select(id, pendingScroll === undefined);
        if (pendingField) inspector.show(store.get(id), pendingField);
        pendingField = undefined;
      }
      if (pendingScroll !== undefined && store.pending === 0) {
        list.scrollTop = pendingScroll;
        pendingScroll = undefined;
      }
      if (pendingConn && store.transitionsOf(pendingConn.connId).length >= pendingConn.step) {
        const p = pendingConn;
        pendingConn = undefined;
        connection.pick(p.connId, p.step);
        reportStep();
      }
      if (connection.connId !== undefined && connection.connId === reportedConn) reportIfChanged();
      // The heavier views redraw at most four times a second; the last change always gets drawn.
      clearTimeout(viewTimer);
      if (now - lastViewRedraw >= VIEW_REDRAW_MS) {
        lastViewRedraw = now;
        renderActive();
      } else viewTimer = window.setTimeout(() => {
        lastViewRedraw = performance.now();
        renderActive();
      }, VIEW_REDRAW_MS);
      const total = store.extent?.held ?? store.count;
      status.dataset.held = String(store.count);
      const line = notice +
        `${total.toLocaleString('en-US')} packets${total > store.count ? ` (${store.count.toLocaleString('en-US')} held here)` : ''} · ${store.transitions.length} transitions · ${store.connectionIds().length} connections` +
        (store.pending ? ` · ${store.pending.toLocaleString('en-US')} decoding` : '') +
        (store.recordsDropped ? ` · ${store.recordsDropped} records sampled away` : '') +
        (store.lastError ? ` · ${store.lastError}` : '');
      if (status.textContent !== line) status.textContent = line;
    });
  };
  let notice = '';
  const addBatches = (batches: readonly WireBatch[]) => {
    for (const b of batches) store.enqueue(b);
    refresh();
  };

  // ---- ranges: the list asks for the packets in view that the webview does not hold; one request at
  // a time, the newest wish next (scrolling fast asks for where the user stopped, not every place passed).
  let rangeInFlight = false;
  let resets = 0;
  let rangeWanted: [number, number] | undefined;
  function askRange(fromId: number, toId: number): void {
    if (rangeInFlight) {
      rangeWanted = [fromId, toId];
      return;
    }
    rangeInFlight = true;
    const capture = resets;
    client.request('scope/packetRange', { fromId, toId }).then(
      (r) => {
        // An answer about the capture before a reset is not this one's.
        if (capture === resets) {
          if (r.extent) store.extent = r.extent;
          addBatches(r.batches);
          store.noteAnswered(fromId, toId);
        }
      },
      (e: Error) => {
        notice = `packets ${fromId}–${toId} did not come (${e.message}) · `;
      },
    ).finally(() => {
      rangeInFlight = false;
      const next = rangeWanted;
      rangeWanted = undefined;
      if (next) askRange(next[0], next[1]);
      else refresh();
    });
  }

  /** Past 1.25 × its bound, the store keeps the packets nearest the list's view (the newest while following). */
  function bound(): void {
    if (store.count <= store.hold * 1.25) return;
    if (store.compact(list.centerId()) === 0) return;
    list.compacted();
    flow.compacted();
  }

  function showStep(connId: number, step: number): void {
    const held = store.transitionsOf(connId).length;
    // Transitions still on their way (a live capture): the furthest held now, the step once they are here.
    pendingConn = held >= step ? undefined : { connId, step };
    if (connId !== connection.connId) connection.pick(connId, Math.min(step, held));
    else connection.go(Math.min(step, held));
    // go() says nothing when the view is there already: the host still learns its step was applied.
    reportStep();
    if (pendingConn) refresh();
  }

  function onMessage(m: Exclude<HostMessage, ResponseMessage>): void {
    switch (m.type) {
      case 'scope/traceBatch':
        addBatches([m.batch]);
        break;
      case 'scope/extent':
        store.extent = m.extent;
        refresh();
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
        flow.setLive(m.state === 'running');
        list.rules = m.rules;
        break;
      case 'scope/select':
        if (store.get(m.packetId)) list.select(m.packetId);
        else {
          // A packet the webview does not hold (sampled away here, or from before it opened): ask for it.
          pendingSelect = m.packetId;
          client.request('scope/packetDetail', { packetId: m.packetId }).then(
            (r) => r.batch && addBatches([r.batch]),
            (e: Error) => {
              notice = `packet ${m.packetId} is not available (${e.message}) · `;
              refresh();
            },
          );
        }
        break;
      case 'scope/step':
        // Absolute: connection connId after its step-th transition, once the webview holds that many.
        hostSeq = m.seq;
        showStep(m.connId, m.step);
        break;
      case 'scope/openConnection':
        hostSeq = m.seq;
        views.activate('connection');
        showView('connection');
        save();
        showStep(m.connId, 0);
        break;
      case 'scope/reset':
        resets++;
        hostSeq = m.seq;
        store.reset();
        list.select(undefined);
        connection.pick(undefined);
        flow.refresh();
        notice = '';
        refresh();
        break;
    }
  }

  // ---- keyboard: / filters, Escape back to the list, Enter from the list into the fields, Alt+1…4
  // switch views (each view then takes its own keys: ←/→ step a connection, arrows move between stations)
  document.addEventListener('keydown', (e) => {
    const inField = e.composedPath().some((t) => t instanceof HTMLElement && t.tagName === 'VSCODE-TEXT-FIELD');
    if (e.key === '/' && !inField) {
      e.preventDefault();
      filter.focus();
    } else if (e.key === 'Escape' && (inField || document.activeElement?.id === 'field-tree')) {
      list.focus();
    } else if (e.altKey && /^[1-4]$/.test(e.key)) {
      e.preventDefault();
      const key = TABS[Number(e.key) - 1].key;
      views.activate(key);
      showView(key);
      save();
      if (key === 'packets') list.focus();
      if (key === 'connection') connection.focus();
      if (key === 'flow') flow.focus();
      if (key === 'stats') stats.focus();
    } else if (e.key === 'Enter' && !inField && document.activeElement?.id === 'packet-list') {
      inspector.focusTree();
    }
  });

  client.notify({ type: 'scope/ready' });
  // The first answer brings the newest packets; the list asks for others only after it.
  rangeInFlight = true;
  client
    .request('scope/packetRange', { fromId: 1, toId: 0xffffffff, newest: store.hold })
    .then((r) => {
      for (const c of r.connections) store.connections.set(c.connId, c);
      if (r.extent) store.extent = r.extent;
      addBatches(r.batches);
    })
    .catch((e: Error) => {
      notice = `the extension did not send the capture so far (${e.message}); showing live packets only · `;
      refresh();
    })
    .finally(() => {
      rangeInFlight = false;
      const next = rangeWanted;
      rangeWanted = undefined;
      if (next) askRange(next[0], next[1]);
    });
  list.focus();
}

start();
