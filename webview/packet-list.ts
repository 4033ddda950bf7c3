// webview/packet-list: the virtualized packet list — only the rows in view exist in the DOM, so
// 100,000 rows scroll as smoothly as 100. Unfiltered, it spans every packet the extension holds (the
// webview holds a window of them): a row not held here is asked for by range and drawn when it comes.
// Filtered, it lists the held packets that match. Follows a live capture until the user scrolls away
// from the bottom.
import * as d3 from 'd3';
import { RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN } from '../engine/trace/schema';
import { compileFilter, matches, type CompiledFilter } from './filter';
import type { RuleLabel } from './protocol';
import type { PacketRow, TraceStore } from './store';

export const ROW_HEIGHT = 20;
/** How often a list that follows a live capture moves to the newest rows. */
const FOLLOW_MS = 100;
const OVERSCAN = 8;

export const COLUMNS = [
  { key: 'no', label: 'No.' },
  { key: 'time', label: 'Time' },
  { key: 'path', label: 'Path' },
  { key: 'rule', label: 'Rule' },
  { key: 'src', label: 'Source' },
  { key: 'dst', label: 'Destination' },
  { key: 'proto', label: 'Protocol' },
  { key: 'len', label: 'Length' },
  { key: 'info', label: 'Info' },
] as const;

export function formatTime(ns: number): string {
  return (ns / 1e9).toFixed(6);
}

export class PacketList {
  readonly element: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly countEl: HTMLElement;
  /** Row indices (into the store) that pass the filter, in capture order: the first visibleCount entries. */
  private visible = new Int32Array(1024);
  private visibleCount = 0;
  private filtered = 0;
  private filter: CompiledFilter = compileFilter('');
  private selectedId: number | undefined;
  private frame = 0;
  private revealPending: number | undefined;
  /** The scroller's height, as the ResizeObserver last said: reading it (or scrollHeight) every frame would force a layout. */
  private viewHeight = 0;
  /** The ids the unfiltered list spans (the store's span when it was last ingested). */
  private firstId = 0;
  private lastId = -1;
  /** Row elements on screen, by packet id, and detached ones ready to show another row. */
  private readonly onScreen = new Map<number, RowElement>();
  private readonly pool: RowElement[] = [];
  private followedAt = 0;
  /** Where following last scrolled the list to. */
  private autoTop = 0;
  private followTimer = 0;
  follow = true;
  rules: readonly RuleLabel[] = [];

  constructor(
    parent: HTMLElement,
    private readonly store: TraceStore,
    private readonly onSelect: (id: number | undefined) => void,
    private readonly onFollowChange: (follow: boolean) => void,
    /** Packets in view that the webview does not hold: ask the host for ids fromId…toId. */
    private readonly onNeedRange: (fromId: number, toId: number) => void = () => undefined,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'packet-list';
    const header = document.createElement('div');
    header.className = 'list-header row-grid';
    header.setAttribute('role', 'row');
    for (const c of COLUMNS) {
      const h = document.createElement('div');
      h.className = `cell col-${c.key}`;
      h.setAttribute('role', 'columnheader');
      h.textContent = c.label;
      header.append(h);
    }
    this.scroller = document.createElement('div');
    this.scroller.className = 'list-scroll';
    this.scroller.tabIndex = 0;
    this.scroller.id = 'packet-list';
    this.scroller.setAttribute('role', 'grid');
    this.scroller.setAttribute('aria-label', 'Packets');
    this.spacer = document.createElement('div');
    this.spacer.className = 'list-spacer';
    this.scroller.append(this.spacer);
    this.countEl = document.createElement('div');
    this.countEl.className = 'list-count';
    this.countEl.id = 'packet-count';
    const footer = document.createElement('div');
    footer.className = 'list-footer';
    const keys = document.createElement('div');
    keys.className = 'list-keys';
    keys.textContent = '/ filter · ↑ ↓ PgUp PgDn Home End move · Enter fields · Esc back to the list · Alt+1–4 views';
    footer.append(this.countEl, keys);
    this.element.append(header, this.scroller, footer);
    parent.append(this.element);

    this.scroller.addEventListener('scroll', () => {
      const top = this.scroller.scrollTop;
      // Following: rows keep arriving below the place the list last moved to, so leaving means
      // scrolling up from there. Not following: reaching the newest row starts following again.
      const follow = this.follow ? top >= this.autoTop - ROW_HEIGHT : top + this.viewHeight >= this.rowCount * ROW_HEIGHT - ROW_HEIGHT;
      if (follow !== this.follow) {
        this.follow = follow;
        this.onFollowChange(follow);
      }
      this.schedule();
    });
    this.scroller.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver((entries) => {
      this.viewHeight = entries[entries.length - 1].contentRect.height;
      this.schedule();
    }).observe(this.scroller);
  }

  get selected(): number | undefined {
    return this.selectedId;
  }

  get scrollTop(): number {
    return this.scroller.scrollTop;
  }

  set scrollTop(v: number) {
    this.scroller.scrollTop = v;
  }

  focus(): void {
    this.scroller.focus();
  }

  setFilter(f: CompiledFilter): void {
    this.filter = f;
    this.visibleCount = 0;
    this.filtered = 0;
    this.ingest();
    if (this.selectedId !== undefined) this.reveal(this.selectedId);
  }

  /** True while a filter narrows the list to the held packets that match. */
  private get filtering(): boolean {
    return this.filter.ok && this.filter.program !== undefined;
  }

  /** Rows in the list: every id the extension holds, or the held packets that match the filter. */
  private get rowCount(): number {
    return this.filtering ? this.visibleCount : this.lastId - this.firstId + 1;
  }

  /** The packet id at list position p. */
  private idAt(p: number): number {
    return this.filtering ? this.store.id(this.visible[p]) : this.firstId + p;
  }

  /** The store let rows go (row indices changed): the filtered list is made again from what is held. */
  compacted(): void {
    this.visibleCount = 0;
    this.filtered = 0;
    this.ingest();
  }

  /** The packet id in the middle of the view (the newest while following): where the store keeps its window. */
  centerId(): number {
    if (this.follow || this.rowCount === 0) return this.store.span()?.lastId ?? 0;
    const p = Math.min(this.rowCount - 1, Math.floor((this.scroller.scrollTop + this.viewHeight / 2) / ROW_HEIGHT));
    return this.idAt(Math.max(0, p));
  }

  /** New rows arrived in the store (or it was reset). */
  ingest(): void {
    const store = this.store;
    if (this.filtered > store.count) {
      this.visibleCount = 0;
      this.filtered = 0;
    }
    const span = store.span();
    this.firstId = span?.firstId ?? 0;
    this.lastId = span?.lastId ?? -1;
    const f = this.filter;
    if (this.filtering) {
      let sorted = true;
      for (let i = this.filtered; i < store.count; i++) {
        if (!matches(f, store.frame(i), store.wireLen(i))) continue;
        sorted = this.pushVisible(i) && sorted;
      }
      // A range answered out of order (older packets after newer ones): one sort, not an insertion each.
      if (!sorted) this.sortVisible();
    }
    this.filtered = store.count;
    const height = `${this.rowCount * ROW_HEIGHT}px`;
    if (this.spacer.style.height !== height) this.spacer.style.height = height;
    // Following a live capture, every row in view changes with each batch: the list moves to the
    // newest rows ten times a second (as Wireshark's live list does), not every frame.
    const now = performance.now();
    const wait = FOLLOW_MS - (now - this.followedAt);
    if (this.follow && wait <= 0 && this.scrolledAwaySinceMove()) {
      // The user scrolled up since the list last moved, and the scroll event has not come yet.
      this.follow = false;
      this.onFollowChange(false);
    }
    if (this.follow) {
      clearTimeout(this.followTimer);
      if (wait <= 0) {
        this.followedAt = now;
        this.updateCount();
        this.toEnd();
        this.render();
      } else this.followTimer = window.setTimeout(() => this.ingest(), wait);
      return;
    }
    this.updateCount();
    this.render();
  }

  /** Whether the list is above where it last moved to (clamped to the content, which a new filter may have shrunk). */
  private scrolledAwaySinceMove(): boolean {
    // A hidden list (another view's tab is shown) has no height and reads scrollTop 0: not a scroll.
    if (this.viewHeight <= 0) return false;
    const bottom = Math.max(0, this.rowCount * ROW_HEIGHT - this.viewHeight);
    return this.scroller.scrollTop < Math.min(this.autoTop, bottom) - ROW_HEIGHT;
  }

  /** Scrolls to the newest row, from the known content height (no layout read). */
  private toEnd(): void {
    this.autoTop = Math.max(0, this.rowCount * ROW_HEIGHT - this.viewHeight);
    this.scroller.scrollTop = this.autoTop;
  }

  /**
   * Adds row i in packet-number order, as Wireshark lists packets: the engine writes a packet's
   * record when the packet is done, so records arrive a little out of order (a SYN's record after
   * the SYN,ACK it caused); the few late ones are moved into place.
   */
  private updateCount(): void {
    const f = this.filter;
    const held = this.store.count.toLocaleString('en-US');
    const total = this.store.extent?.held ?? this.store.count;
    const what = this.filtering
      ? ` of ${held}${total > this.store.count ? ` held here (the capture has ${total.toLocaleString('en-US')})` : ''} (filter: ${f.text.trim()})`
      : total > this.store.count ? ` (${held} held here; the rest come from the extension as you scroll)` : '';
    const sel = this.selectedId;
    const hidden = sel !== undefined && this.filtering && this.store.byId.has(sel) && this.positionOf(sel) < 0 ? ` · the selected packet ${sel} does not match the filter` : '';
    const text = `${(this.filtering ? this.visibleCount : total).toLocaleString('en-US')} packets${what}${hidden}`;
    if (this.countEl.textContent !== text) this.countEl.textContent = text;
  }

  /** Adds row i; a few late ones are moved into place, a row far out of order says so (false) for one sort after. */
  private pushVisible(i: number): boolean {
    if (this.visibleCount === this.visible.length) {
      const grown = new Int32Array(Math.max(1024, this.visible.length * 2));
      grown.set(this.visible);
      this.visible = grown;
    }
    const store = this.store;
    const id = store.id(i);
    let at = this.visibleCount;
    while (at > 0 && this.visibleCount - at < 64 && store.id(this.visible[at - 1]) > id) at--;
    if (at > 0 && store.id(this.visible[at - 1]) > id) {
      this.visible[this.visibleCount++] = i;
      return false;
    }
    if (at < this.visibleCount) this.visible.copyWithin(at + 1, at, this.visibleCount);
    this.visible[at] = i;
    this.visibleCount++;
    return true;
  }

  private sortVisible(): void {
    const store = this.store;
    const part = this.visible.subarray(0, this.visibleCount);
    part.sort((a, b) => store.id(a) - store.id(b));
  }

  /** The list became visible again (its tab was chosen): lay it out and bring the selection into view. */
  shown(): void {
    if (this.follow) this.toEnd();
    else if (this.selectedId !== undefined) this.reveal(this.selectedId);
    this.schedule();
  }

  setFollow(on: boolean): void {
    this.follow = on;
    if (on) this.toEnd();
    this.schedule();
  }

  select(id: number | undefined, reveal = true): void {
    this.selectedId = id;
    if (reveal && id !== undefined) {
      // Bringing a packet into view means leaving the live end.
      if (this.follow) {
        this.follow = false;
        this.onFollowChange(false);
      }
      this.reveal(id);
    }
    // Drawn at once, not on the next frame: the selection follows the key that moved it.
    this.render();
    this.updateCount();
    this.onSelect(id);
  }

  /** Scrolls the row into view (stops following when that means leaving the bottom). */
  reveal(id: number): void {
    const pos = this.positionOf(id);
    if (pos < 0) return;
    const top = pos * ROW_HEIGHT;
    const s = this.scroller;
    if (s.clientHeight === 0) {
      // Hidden (another view is shown, or the tab is switching): reveal it once the list has a size.
      this.revealPending = id;
      return;
    }
    this.revealPending = undefined;
    if (top < s.scrollTop || top + ROW_HEIGHT > s.scrollTop + s.clientHeight) {
      s.scrollTop = Math.max(0, top - s.clientHeight / 2);
    }
  }

  /** Where packet `id` is in the list (which is in packet-number order), or -1. */
  private positionOf(id: number): number {
    if (!this.filtering) return id >= this.firstId && id <= this.lastId ? id - this.firstId : -1;
    if (!this.store.byId.has(id)) return -1;
    const store = this.store;
    let lo = 0, hi = this.visibleCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (store.id(this.visible[mid]) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.visibleCount && store.id(this.visible[lo]) === id ? lo : -1;
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    const m = moves[e.key];
    if (m === undefined || this.rowCount <= 0) return;
    e.preventDefault();
    const cur = this.selectedId === undefined ? -1 : this.positionOf(this.selectedId);
    const lastPos = this.rowCount - 1;
    let next: number;
    if (m === -Infinity) next = 0;
    else if (m === Infinity) next = lastPos;
    else next = Math.max(0, Math.min(lastPos, cur < 0 ? (m > 0 ? 0 : lastPos) : cur + m));
    this.select(this.idAt(next));
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  ruleLabel(rule: number): string {
    if (rule >= 0) {
      const r = this.rules.find((x) => x.index === rule);
      return r ? `L${r.line} ${r.action}` : `#${rule}`;
    }
    if (rule === RULE_DEFAULT) return 'default';
    if (rule === RULE_LOCAL_PIN) return 'local';
    if (rule === RULE_EARLIER_RULES) return 'earlier';
    return '—';
  }

  private ruleTitle(rule: number): string {
    const r = this.rules.find((x) => x.index === rule);
    return r ? `line ${r.line}: ${r.action} ${r.filter}` : this.ruleLabel(rule);
  }

  /**
   * Draws the rows in view. Row elements are kept per row index and reused for other rows when
   * they scroll out (a live capture replaces every row in view each frame while following); only
   * what changed is written.
   */
  render(): void {
    const s = this.scroller;
    if (this.revealPending !== undefined && this.viewHeight > 0) this.reveal(this.revealPending);
    const top = s.scrollTop;
    const rows = this.rowCount;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows, Math.ceil((top + this.viewHeight) / ROW_HEIGHT) + OVERSCAN);
    const inView = new Set<number>();
    for (let p = first; p < last; p++) inView.add(this.idAt(p));
    for (const [id, el] of this.onScreen) {
      // A row drawn before its packet came (or after it was let go) is drawn again.
      if (inView.has(id) && el.held === this.store.byId.has(id)) continue;
      this.onScreen.delete(id);
      this.park(el);
    }
    let missingFrom = Infinity;
    let missingTo = -Infinity;
    for (let p = first; p < last; p++) {
      const id = this.idAt(p);
      let el = this.onScreen.get(id);
      if (!el) {
        el = this.pool.pop() ?? this.makeRow();
        el.pid = id;
        const index = this.store.byId.get(id);
        el.held = index !== undefined;
        if (index !== undefined) this.fillRow(el, this.store.row(index));
        else this.fillMissing(el, id);
        el.shownSel = undefined;
        this.onScreen.set(id, el);
      }
      if (!el.held && !this.store.isAbsent(id)) {
        missingFrom = Math.min(missingFrom, id);
        missingTo = Math.max(missingTo, id);
      }
      if (el.shownPos !== p) {
        el.shownPos = p;
        el.style.transform = `translateY(${p * ROW_HEIGHT}px)`;
      }
      const on = id === this.selectedId;
      if (el.shownSel !== on) {
        el.shownSel = on;
        el.classList.toggle('selected', on);
        el.setAttribute('aria-selected', String(on));
      }
    }
    // The pool keeps what one frame can need; the rest go.
    while (this.pool.length > Math.max(8, last - first)) this.pool.pop()!.remove();
    // Rows in view the webview does not hold: the host is asked for them and a screenful either side
    // (not while batches wait to be decoded: the rows may be among them).
    if (missingTo >= missingFrom && this.store.pending === 0) {
      const margin = Math.max(200, last - first);
      this.onNeedRange(Math.max(this.firstId, missingFrom - margin), Math.min(this.lastId, missingTo + margin));
    }
  }

  /** A row whose packet the webview does not hold: on its way from the extension, or never recorded. */
  private fillMissing(el: RowElement, id: number): void {
    const absent = this.store.isAbsent(id);
    el.className = `row row-grid ${absent ? 'absent' : 'loading'}`;
    el.dataset.id = String(id);
    el.shownPos = undefined;
    const cells = el.children;
    COLUMNS.forEach((c, k) => {
      const cell = cells[k] as HTMLElement;
      (cell.firstChild as Text).data = c.key === 'no' ? String(id) : c.key === 'info' ? (absent ? 'not recorded: the engine sampled this packet\'s trace record away' : 'asking the extension for this packet…') : '';
      cell.title = '';
    });
  }

  /**
   * Takes a row out of view but keeps it in the document: detaching and re-attaching rows (a live
   * capture replaces every row in view each frame) would make the browser lay the whole page out.
   */
  private park(el: RowElement): void {
    el.pid = undefined;
    el.shownPos = undefined;
    el.className = 'pooled';
    el.removeAttribute('data-id');
    el.style.transform = `translateY(${-4 * ROW_HEIGHT}px)`;
    this.pool.push(el);
  }

  private makeRow(): RowElement {
    const el = document.createElement('div') as RowElement;
    el.setAttribute('role', 'row');
    for (const c of COLUMNS) {
      const cell = document.createElement('div');
      cell.className = `cell col-${c.key}`;
      cell.setAttribute('role', 'gridcell');
      // One text node per cell, kept: a new row's text replaces its data, not the node.
      cell.append(document.createTextNode(''));
      el.append(cell);
    }
    el.addEventListener('click', () => {
      if (el.pid === undefined) return;
      this.select(el.pid, false);
      this.scroller.focus();
    });
    this.spacer.append(el);
    return el;
  }

  private fillRow(el: RowElement, r: PacketRow): void {
    const cls = rowClass(r);
    if (el.className !== cls) el.className = cls;
    el.dataset.id = String(r.id);
    el.shownPos = undefined;
    const info = (r.retransmission ? '[retransmission] ' : '') + (r.drop ? `[drop at ${r.drop.layer}: ${r.drop.reason ?? '?'}] ` : '') + r.info;
    const values: Record<string, string> = {
      no: String(r.id),
      time: formatTime(r.timeNs),
      path: `${r.path === 'none' ? '—' : r.path} ${r.direction === 'rx' ? '↓' : '↑'}`,
      rule: r.direction === 'rx' ? this.ruleLabel(r.rule) : '',
      src: r.src,
      dst: r.dst,
      proto: r.protocol,
      len: String(r.wireLen),
      info,
    };
    const cells = el.children;
    COLUMNS.forEach((c, k) => {
      const cell = cells[k] as HTMLElement;
      (cell.firstChild as Text).data = values[c.key];
      if (c.key === 'rule') cell.title = r.direction === 'rx' ? this.ruleTitle(r.rule) : '';
      if (c.key === 'info') cell.title = info;
      if (c.key === 'path') cell.title = `${r.direction === 'rx' ? 'received' : 'sent'} on the ${r.path} path`;
    });
  }
}

/** A row element, with what it shows (so that a frame writes only what changed). */
type RowElement = HTMLDivElement & { pid?: number; held?: boolean; shownPos?: number; shownSel?: boolean };

function rowClass(r: PacketRow): string {
  let c = `row row-grid path-${r.drop ? 'drop' : r.path}`;
  if (r.retransmission) c += ' retrans';
  return c;
}
