// webview/connection-view: one TCP connection at a time — a table of the capture's connections to
// pick from, the RFC 9293 state diagram with the current state lit, a stepper through the
// connection's transitions (buttons, ←/→, Home/End) showing each step's event, causing packet and
// the control block's variables (seq/ack relative to the ISS/IRS as Wireshark shows them), the list
// of every transition, and the ladder diagram of its packets.
import * as d3 from 'd3';
import type { ConnectionInfo, TcpStateName, TransitionRecord } from '../engine/trace/schema';
import { formatNs } from './charts';
import { button, dataGrid, link, setDisabled, type DataGridControl } from './controls';
import { Ladder } from './ladder';
import { formatTime } from './packet-list';
import { StateDiagram } from './state-diagram';
import type { TraceStore } from './store';

interface ConnRow {
  readonly id: number;
  readonly info: ConnectionInfo | undefined;
  readonly stack: string;
  readonly state: string;
  readonly packets: number;
  readonly transitions: number;
  readonly retrans: number;
  readonly drops: number;
}

interface StepRow {
  readonly step: number;
  readonly t: TransitionRecord;
}

export class ConnectionView {
  readonly element: HTMLElement;
  private readonly connGrid: DataGridControl<ConnRow>;
  private readonly stepGrid: DataGridControl<StepRow>;
  private readonly diagram: StateDiagram;
  private readonly stepInfo: HTMLElement;
  private readonly ladder: Ladder;
  private readonly buttons: { first: HTMLElement; back: HTMLElement; fwd: HTMLElement; last: HTMLElement };
  private readonly counter: HTMLElement;
  private readonly title: HTMLElement;
  connId: number | undefined;
  /** 0: before the first transition; k: after transition k. */
  step = 0;

  constructor(
    parent: HTMLElement,
    private readonly store: TraceStore,
    private readonly onPacket: (id: number) => void,
    private readonly onChange: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'connection-view';
    this.element.id = 'connection-view';
    this.element.tabIndex = 0;
    this.element.setAttribute('aria-label', 'TCP connection: ← and → step through its transitions, Home and End go to the first and last; ↑ and ↓ pick the connection');

    const top = document.createElement('div');
    top.className = 'conn-table';
    this.connGrid = dataGrid<ConnRow>(top, {
      id: 'conn-grid',
      label: 'Connections',
      template: '72px 84px 210px 210px 84px 150px 92px 110px 84px 1fr',
      key: (r) => String(r.id),
      columns: [
        { key: 'id', title: 'Conn', value: (r) => `#${r.id}` },
        { key: 'stack', title: 'Stack', value: (r) => r.stack },
        { key: 'local', title: 'Local', value: (r) => (r.info ? `${r.info.localAddress}:${r.info.localPort}` : '—') },
        { key: 'remote', title: 'Remote', value: (r) => (r.info ? `${r.info.remoteAddress}:${r.info.remotePort}` : '—') },
        { key: 'open', title: 'Open', value: (r) => r.info?.open ?? '—' },
        { key: 'state', title: 'State now', value: (r) => r.state },
        { key: 'packets', title: 'Packets', value: (r) => r.packets.toLocaleString('en-US') },
        { key: 'transitions', title: 'Transitions', value: (r) => String(r.transitions) },
        { key: 'retrans', title: 'Retrans', value: (r) => String(r.retrans) },
        { key: 'drops', title: 'Drops', value: (r) => String(r.drops) },
      ],
      onPick: (r) => this.pick(r.id),
    });

    const left = document.createElement('div');
    left.className = 'conn-left';
    const controls = document.createElement('div');
    controls.className = 'step-controls';
    this.title = document.createElement('span');
    this.title.className = 'conn-title';
    this.title.id = 'conn-title';
    controls.append(this.title);
    this.buttons = {
      first: button(controls, '« First', { id: 'step-first', title: 'Before the first transition (Home)', onClick: () => this.go(0) }),
      back: button(controls, '◀ Back', { id: 'step-back', title: 'Step back (←)', onClick: () => this.stepBy(-1) }),
      fwd: button(controls, 'Forward ▶', { id: 'step-forward', title: 'Step forward (→)', appearance: 'primary', onClick: () => this.stepBy(1) }),
      last: button(controls, 'Last »', { id: 'step-last', title: 'After the last transition (End)', onClick: () => this.go(Infinity) }),
    };
    this.counter = document.createElement('span');
    this.counter.className = 'step-counter';
    this.counter.id = 'step-counter';
    controls.append(this.counter);
    const keys = document.createElement('span');
    keys.className = 'step-keys';
    keys.textContent = '← → step · Home End · ↑ ↓ connection';
    controls.append(keys);
    const diagramBox = document.createElement('div');
    diagramBox.className = 'diagram-box';
    this.diagram = new StateDiagram(diagramBox);
    this.stepInfo = document.createElement('div');
    this.stepInfo.className = 'step-info';
    this.stepInfo.id = 'step-info';
    this.stepInfo.setAttribute('aria-live', 'polite');
    const steps = document.createElement('div');
    steps.className = 'step-table';
    this.stepGrid = dataGrid<StepRow>(steps, {
      id: 'step-grid',
      label: 'Transitions',
      template: '62px 100px minmax(230px, 1.4fr) minmax(130px, 1fr) 84px',
      key: (r) => String(r.step),
      columns: [
        { key: 'step', title: 'Step', value: (r) => String(r.step) },
        { key: 'time', title: 'Time (s)', value: (r) => formatTime(r.t.timeNs) },
        { key: 'change', title: 'Transition', value: (r) => `${r.t.from} → ${r.t.to}` },
        { key: 'event', title: 'Event', value: (r) => (r.t.observed ? `${r.t.event} (inferred)` : r.t.event) },
        { key: 'packet', title: 'Packet', value: (r) => (r.t.packetId ? `#${r.t.packetId}` : '—') },
      ],
      onPick: (r) => this.go(r.step),
    });
    left.append(controls, diagramBox, this.stepInfo, steps);

    const right = document.createElement('div');
    right.className = 'conn-right';
    this.ladder = new Ladder(right, (id) => this.onPacket(id));
    const body = document.createElement('div');
    body.className = 'conn-body';
    body.append(left, right);
    this.element.append(top, body);
    parent.append(this.element);

    this.element.addEventListener('keydown', (e) => {
      // The tables move their own focus with the arrow keys.
      if (e.target instanceof HTMLElement && e.target.closest('vscode-data-grid, vscode-button, vscode-text-field')) return;
      const k: Record<string, () => void> = {
        ArrowLeft: () => this.stepBy(-1),
        ArrowRight: () => this.stepBy(1),
        Home: () => this.go(0),
        End: () => this.go(Infinity),
        ArrowUp: () => this.pickBy(-1),
        ArrowDown: () => this.pickBy(1),
      };
      const f = k[e.key];
      if (f) {
        e.preventDefault();
        f();
      }
    });
  }

  focus(): void {
    this.element.focus();
  }

  private transitions(): readonly TransitionRecord[] {
    return this.connId === undefined ? [] : this.store.transitionsOf(this.connId);
  }

  pick(connId: number | undefined, step = 0): void {
    this.connId = connId;
    this.step = step;
    this.render();
    this.onChange();
  }

  private pickBy(d: number): void {
    const ids = this.store.connectionIds();
    if (ids.length === 0) return;
    const i = this.connId === undefined ? -1 : ids.indexOf(this.connId);
    this.pick(ids[Math.max(0, Math.min(ids.length - 1, i + d))]);
  }

  stepBy(d: number): void {
    this.go(this.step + d);
  }

  go(step: number): void {
    const n = this.transitions().length;
    const next = Math.max(0, Math.min(n, step));
    if (next === this.step) return;
    this.step = next;
    this.render();
    const t = this.transitions()[this.step - 1];
    if (t && t.packetId) this.onPacket(t.packetId);
    this.onChange();
  }

  /** New data: keep the view, pick the first connection when none is. */
  refresh(): void {
    if (this.connId === undefined) {
      const ids = this.store.connectionIds();
      if (ids.length) this.connId = ids[0];
    }
    this.render();
  }

  render(): void {
    const ts = this.transitions();
    this.step = Math.min(this.step, ts.length);
    this.renderTables(ts);
    setDisabled(this.buttons.first, this.step === 0);
    setDisabled(this.buttons.back, this.step === 0);
    setDisabled(this.buttons.fwd, this.step >= ts.length);
    setDisabled(this.buttons.last, this.step >= ts.length);
    this.counter.textContent = ts.length ? `step ${this.step} of ${ts.length}` : 'no transitions';
    const info = this.connId === undefined ? undefined : this.store.connections.get(this.connId);
    this.title.textContent = this.connId === undefined ? 'No connection' : `#${this.connId}${info ? ` ${info.stack}` : ''}`;
    this.diagram.render(ts, this.step);
    this.renderStepInfo(ts);
    const cur = this.step > 0 ? ts[this.step - 1]?.packetId || undefined : undefined;
    this.ladder.show(this.connId === undefined ? [] : this.store.packetsOf(this.connId), info, ts, cur);
  }

  private renderTables(ts: readonly TransitionRecord[]): void {
    const rows: ConnRow[] = this.store.connectionIds().map((id) => {
      const info = this.store.connections.get(id);
      const tr = this.store.transitionsOf(id);
      const pk = this.store.packetsOf(id);
      return {
        id,
        info,
        stack: info?.stack ?? tr[0]?.stack ?? '—',
        state: tr[tr.length - 1]?.to ?? '—',
        packets: pk.length,
        transitions: tr.length,
        retrans: pk.filter((p) => p.retransmission).length,
        drops: pk.filter((p) => p.drop).length,
      };
    });
    this.connGrid.setRows(rows, this.connId === undefined ? undefined : String(this.connId));
    this.stepGrid.setRows(ts.map((t, i) => ({ step: i + 1, t })), this.step > 0 ? String(this.step) : undefined);
  }

  private renderStepInfo(ts: readonly TransitionRecord[]): void {
    const box = d3.select(this.stepInfo);
    box.selectAll('*').remove();
    if (this.connId === undefined || ts.length === 0) {
      box.append('p').attr('class', 'empty').text('No TCP transitions in this capture yet.');
      return;
    }
    const current: TcpStateName = this.step === 0 ? ts[0].from : ts[this.step - 1].to;
    const tr = this.step > 0 ? ts[this.step - 1] : undefined;
    const head = box.append('div').attr('class', 'step-head');
    head.append('span').attr('class', 'state-now').attr('id', 'current-state').text(current);
    if (!tr) {
      head.append('span').attr('class', 'step-event').attr('id', 'step-event').text(' — before the first transition. → steps forward.');
      return;
    }
    head.append('span').attr('class', 'step-event').attr('id', 'step-event').text(` ${tr.from} → ${tr.to} on “${tr.event}” at ${formatTime(tr.timeNs)} s`);
    if (tr.observed) head.append('span').attr('class', 'step-observed').text(' · inferred from the segments seen (a replayed capture): no stack reported it');
    const prev = this.step > 1 ? ts[this.step - 2] : undefined;
    if (prev) head.append('span').attr('class', 'step-since').text(` (+${formatNs(tr.timeNs - prev.timeNs)} after step ${this.step - 1})`);
    const pkt = tr.packetId ? this.store.get(tr.packetId) : undefined;
    const cause = box.append('div').attr('class', 'step-cause');
    if (pkt) {
      cause.append('span').text('caused by ');
      link(cause.node() as HTMLElement, `packet ${pkt.id}`, { id: 'cause-link', title: 'Select it in the packet list', onClick: () => this.onPacket(pkt.id) });
      cause.append('span').attr('class', 'cause-summary').text(` ${pkt.direction === 'rx' ? 'received' : 'sent'}: ${pkt.info}`);
    } else cause.text(tr.packetId ? `caused by packet ${tr.packetId} (not held)` : 'caused by the application or a timer (no packet)');
    const v = tr.vars;
    const { iss, irs } = initialSequences(ts);
    // Relative first, as Wireshark shows sequence numbers; the absolute value under it.
    const rel = (x: number, base: number | undefined) => (base === undefined ? String(x) : `${(x - base) >>> 0}\n${x}`);
    const vars: [string, string, string][] = [
      ['SND.UNA', rel(v.sndUna, iss), 'oldest unacknowledged sequence number: relative to the ISS, then absolute'],
      ['SND.NXT', rel(v.sndNxt, iss), 'next sequence number to send'],
      ['SND.WND', String(v.sndWnd), 'send window: what the peer advertised'],
      ['RCV.NXT', rel(v.rcvNxt, irs), 'next sequence number expected: relative to the IRS, then absolute'],
      ['RCV.WND', String(v.rcvWnd), 'receive window this side advertises'],
      ['cwnd', `${v.cwnd} B`, 'congestion window (bytes)'],
      ['ssthresh', v.ssthresh > 1e9 ? '∞' : `${v.ssthresh} B`, 'slow-start threshold'],
      ['SRTT', v.srtt === undefined ? '— (no sample)' : `${v.srtt.toFixed(3)} ms`, 'smoothed round-trip time (RFC 6298)'],
      ['RTTVAR', v.rttvar === undefined ? '—' : `${v.rttvar.toFixed(3)} ms`, 'round-trip time variation (RFC 6298)'],
      ['RTO', `${v.rto} ms`, 'retransmission timeout (RFC 6298)'],
    ];
    box.append('dl').attr('class', 'vars').attr('id', 'step-vars')
      .selectAll('div').data(vars, (d) => (d as [string, string, string])[0]).join('div')
      .attr('title', (d) => d[2])
      .call((d) => {
        d.append('dt').text((x) => x[0]);
        d.append('dd').text((x) => x[1].split('\n')[0]);
        d.filter((x) => x[1].includes('\n')).append('dd').attr('class', 'abs').text((x) => x[1].split('\n')[1]);
      });
  }
}

/** The connection's initial send and receive sequence numbers, read from its first transitions' variables. */
function initialSequences(ts: readonly TransitionRecord[]): { iss: number | undefined; irs: number | undefined } {
  const opened = ts.find((t) => t.to === 'SYN-SENT' || t.to === 'SYN-RECEIVED' || t.to === 'ESTABLISHED');
  const synced = ts.find((t) => t.vars.rcvNxt !== 0);
  return { iss: opened?.vars.sndUna, irs: synced ? (synced.vars.rcvNxt - 1) >>> 0 : undefined };
}
