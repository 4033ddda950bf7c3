// webview/controls: every control the visualizer shows, made from @vscode/webview-ui-toolkit's
// components. The one module that knows the toolkit: views ask for a button or a field here.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeLink,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Registers the toolkit's elements (once). */
export function registerControls(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeCheckbox(),
    vsCodeTextField(),
    vsCodePanels(),
    vsCodePanelTab(),
    vsCodePanelView(),
    vsCodeDivider(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodeLink(),
    vsCodeDataGrid(),
    vsCodeDataGridRow(),
    vsCodeDataGridCell(),
  );
}

export interface ButtonOptions {
  readonly id?: string;
  readonly title?: string;
  /** A codicon-free text glyph shown before the label. */
  readonly appearance?: 'primary' | 'secondary' | 'icon';
  readonly onClick: () => void;
}

export function button(parent: HTMLElement, label: string, o: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  if (o.id) b.id = o.id;
  if (o.title) {
    b.title = o.title;
    b.setAttribute('aria-label', o.title);
  }
  b.setAttribute('appearance', o.appearance ?? 'secondary');
  b.addEventListener('click', () => {
    if (!b.hasAttribute('disabled')) o.onClick();
  });
  parent.append(b);
  return b;
}

/** A link (vscode-link) that runs `onClick` (Enter or a click), not a navigation. */
export function link(parent: HTMLElement, label: string, o: { id?: string; title?: string; onClick: () => void }): HTMLElement {
  const a = document.createElement('vscode-link');
  a.textContent = label;
  a.setAttribute('href', '#');
  if (o.id) a.id = o.id;
  if (o.title) a.title = o.title;
  a.addEventListener('click', (e) => {
    e.preventDefault();
    o.onClick();
  });
  parent.append(a);
  return a;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  el.toggleAttribute('disabled', disabled);
}

export interface TextFieldControl {
  readonly element: HTMLElement;
  value(): string;
  setValue(v: string): void;
  focus(): void;
}

export function textField(
  parent: HTMLElement,
  o: { id?: string; placeholder?: string; label?: string; onInput: (v: string) => void; onEnter?: (v: string) => void },
): TextFieldControl {
  const f = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  if (o.id) f.id = o.id;
  if (o.placeholder) f.setAttribute('placeholder', o.placeholder);
  if (o.label) f.setAttribute('aria-label', o.label);
  f.addEventListener('input', () => o.onInput(f.value));
  f.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') o.onEnter?.(f.value);
  });
  parent.append(f);
  return {
    element: f,
    value: () => f.value ?? '',
    setValue: (v) => {
      f.value = v;
    },
    focus: () => {
      const inner = f.shadowRoot?.querySelector('input');
      (inner ?? f).focus();
    },
  };
}

export function checkbox(parent: HTMLElement, label: string, o: { id?: string; checked: boolean; onChange: (checked: boolean) => void }): {
  element: HTMLElement;
  set(checked: boolean): void;
} {
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  c.textContent = label;
  if (o.id) c.id = o.id;
  c.checked = o.checked;
  // The toolkit fires `change` for a programmatic change too; only the user's changes are reported.
  let echo = false;
  c.addEventListener('change', () => {
    if (!echo) o.onChange(c.checked);
  });
  parent.append(c);
  return {
    element: c,
    set: (v) => {
      if (c.checked === v) return;
      echo = true;
      c.checked = v;
      echo = false;
    },
  };
}

export function divider(parent: HTMLElement): HTMLElement {
  const d = document.createElement('vscode-divider');
  parent.append(d);
  return d;
}

export interface Tabs {
  readonly element: HTMLElement;
  /** The view element of each tab, by key. */
  readonly views: ReadonlyMap<string, HTMLElement>;
  activate(key: string): void;
  active(): string;
}

/** A tab strip (vscode-panels); `onChange` hears the key of the tab the user picked. */
export function tabs(parent: HTMLElement, entries: readonly { key: string; label: string }[], onChange: (key: string) => void): Tabs {
  const p = document.createElement('vscode-panels') as HTMLElement & { activeid: string };
  p.id = 'views';
  const views = new Map<string, HTMLElement>();
  for (const e of entries) {
    const t = document.createElement('vscode-panel-tab');
    t.id = `tab-${e.key}`;
    t.textContent = e.label;
    p.append(t);
  }
  for (const e of entries) {
    const v = document.createElement('vscode-panel-view');
    v.id = `view-${e.key}`;
    p.append(v);
    views.set(e.key, v);
  }
  let current = entries[0]?.key ?? '';
  p.addEventListener('change', () => {
    const id = p.activeid ?? '';
    const key = id.replace(/^tab-/, '');
    if (key && key !== current && views.has(key)) {
      current = key;
      onChange(key);
    }
  });
  parent.append(p);
  return {
    element: p,
    views,
    activate: (key) => {
      if (!views.has(key)) return;
      current = key;
      p.setAttribute('activeid', `tab-${key}`);
      p.activeid = `tab-${key}`;
    },
    active: () => current,
  };
}

export interface DropdownControl {
  readonly element: HTMLElement;
  value(): string;
  setValue(v: string): void;
}

/** A drop-down (vscode-dropdown) of `options` ([value, label]); `onChange` hears the user's choice. */
export function dropdown(
  parent: HTMLElement,
  options: readonly (readonly [string, string])[],
  o: { id?: string; label: string; value: string; onChange: (value: string) => void },
): DropdownControl {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  if (o.id) d.id = o.id;
  d.setAttribute('aria-label', o.label);
  d.title = o.label;
  for (const [value, label] of options) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
    opt.setAttribute('value', value);
    opt.textContent = label;
    if (value === o.value) opt.setAttribute('selected', '');
    d.append(opt);
  }
  let echo = false;
  d.addEventListener('change', () => {
    if (!echo) o.onChange(d.value);
  });
  parent.append(d);
  return {
    element: d,
    value: () => d.value,
    setValue: (v) => {
      echo = true;
      d.value = v;
      echo = false;
    },
  };
}

export interface GridColumn<T> {
  readonly key: string;
  readonly title: string;
  readonly value: (row: T) => string;
}

export interface DataGridControl<T> {
  readonly element: HTMLElement;
  /** Shows `rows` (redrawn only when what they show changed) and marks the one whose key is `selected`. */
  setRows(rows: readonly T[], selected: string | undefined): void;
  focus(): void;
}

type GridElement = HTMLElement & { rowsData: Record<string, string>[]; columnDefinitions: { columnDataKey: string; title: string }[] };

/**
 * A table (vscode-data-grid) of `rows`, one column per entry of `columns`. The row the user moves to
 * (arrow keys, click) is reported by `onPick`; the picked row is marked `selected`.
 */
export function dataGrid<T>(
  parent: HTMLElement,
  o: { id?: string; label: string; columns: readonly GridColumn<T>[]; template: string; key: (row: T) => string; onPick: (row: T) => void },
): DataGridControl<T> {
  const g = document.createElement('vscode-data-grid') as GridElement;
  if (o.id) g.id = o.id;
  g.setAttribute('aria-label', o.label);
  g.setAttribute('grid-template-columns', o.template);
  g.setAttribute('generate-header', 'sticky');
  g.columnDefinitions = o.columns.map((c) => ({ columnDataKey: c.key, title: c.title }));
  let rows: readonly T[] = [];
  let shown = '';
  let selected: string | undefined;
  const mark = () => {
    for (const r of g.querySelectorAll<HTMLElement & { rowData?: Record<string, string> }>('vscode-data-grid-row')) {
      const key = r.rowData?.__key;
      const on = key !== undefined && key === selected;
      r.classList.toggle('selected', on);
      if (key !== undefined) {
        r.dataset.key = key;
        r.setAttribute('aria-selected', String(on));
      }
    }
  };
  // Rows are made by the grid after rowsData changes: mark them as they appear.
  new MutationObserver(mark).observe(g, { childList: true });
  g.addEventListener('row-focused', (e) => {
    const key = (e.target as HTMLElement & { rowData?: Record<string, string> }).rowData?.__key;
    const row = rows.find((r) => o.key(r) === key);
    if (row !== undefined && key !== selected) o.onPick(row);
  });
  parent.append(g);
  return {
    element: g,
    setRows: (next, sel) => {
      rows = next;
      selected = sel;
      const data = next.map((r) => Object.fromEntries([['__key', o.key(r)], ...o.columns.map((c) => [c.key, c.value(r)])]));
      const text = JSON.stringify(data);
      if (text !== shown) {
        shown = text;
        g.rowsData = data;
      }
      mark();
    },
    focus: () => {
      const row = g.querySelector<HTMLElement>('vscode-data-grid-row.selected vscode-data-grid-cell') ?? g;
      row.focus();
    },
  };
}
