// webview/controls: every control the visualizer shows, made from @vscode/webview-ui-toolkit's
// components. The one module that knows the toolkit: views ask for a button or a field here.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
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
