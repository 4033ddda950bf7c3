// webview/filter-box: the display filter field — the rules' filter language (pcap-filter), compiled
// as the user types; the field turns red or green as Wireshark's does, and an error is shown inline:
// a wavy underline under the exact characters it points at, and the message in a callout that
// starts at that column. The list keeps the last good filter while the text is wrong.
import { textField, type TextFieldControl } from './controls';
import { compileFilter, type CompiledFilter } from './filter';

const TYPING_MS = 150;

export class FilterBox {
  readonly element: HTMLElement;
  private readonly field: TextFieldControl;
  private readonly squiggle: HTMLElement;
  private readonly callout: HTMLElement;
  private timer = 0;
  private measure = document.createElement('canvas').getContext('2d');

  constructor(parent: HTMLElement, private readonly onApply: (f: CompiledFilter) => void, private readonly onDone: () => void) {
    this.element = document.createElement('div');
    this.element.className = 'filter-box';
    this.field = textField(this.element, {
      id: 'filter',
      placeholder: 'Display filter, in the rules’ language (pcap-filter): e.g. tcp port 9000 and tcp[tcpflags] & tcp-syn != 0',
      label: 'Display filter (pcap-filter, as in the routing rules). Enter applies, Escape returns to the list',
      onInput: (v) => {
        clearTimeout(this.timer);
        this.timer = window.setTimeout(() => this.apply(v), TYPING_MS);
      },
      onEnter: (v) => {
        clearTimeout(this.timer);
        this.apply(v);
        this.onDone();
      },
    });
    this.squiggle = document.createElement('div');
    this.squiggle.className = 'filter-squiggle';
    this.squiggle.id = 'filter-squiggle';
    this.callout = document.createElement('div');
    this.callout.className = 'filter-error';
    this.callout.id = 'filter-error';
    this.callout.setAttribute('role', 'alert');
    this.element.append(this.squiggle, this.callout);
    parent.append(this.element);
  }

  value(): string {
    return this.field.value();
  }

  setValue(v: string): void {
    this.field.setValue(v);
  }

  focus(): void {
    this.field.focus();
  }

  /** Compiles `text`; a good filter goes to the list, a bad one is shown where it is wrong. */
  apply(text: string): void {
    const f = compileFilter(text);
    this.element.classList.toggle('invalid', !f.ok);
    this.element.classList.toggle('valid', f.ok && text.trim() !== '');
    this.callout.replaceChildren();
    this.squiggle.hidden = true;
    if (f.ok) {
      this.onApply(f);
      return;
    }
    const [x0, top, height] = this.columnsAt(text, f.start);
    // A copy of the offending characters, transparent, set over them: its wavy underline marks them exactly.
    this.squiggle.hidden = false;
    this.squiggle.textContent = text.slice(f.start, Math.max(f.end, f.start + 1)).replace(/ /g, '\u00a0') || '\u00a0\u00a0';
    this.squiggle.style.left = `${x0}px`;
    this.squiggle.style.top = `${top}px`;
    this.squiggle.style.height = `${height}px`;
    this.squiggle.style.lineHeight = `${height}px`;
    const where = document.createElement('span');
    where.className = 'filter-error-where';
    where.textContent = `column ${f.start + 1}: `;
    const what = document.createElement('span');
    what.className = 'filter-error-text';
    what.textContent = f.message;
    this.callout.append(where, what);
    this.callout.style.left = `${Math.max(0, x0 - 10)}px`;
  }

  /** Where character `from` of the field's text is drawn, in this box: its x, and the text line's top and height. */
  private columnsAt(text: string, from: number): [number, number, number] {
    const input = this.field.element.shadowRoot?.querySelector('input');
    const box = this.element.getBoundingClientRect();
    if (!input || !this.measure) return [0, 0, 0];
    const r = input.getBoundingClientRect();
    const cs = getComputedStyle(input);
    this.measure.font = `${cs.fontSize} ${cs.fontFamily}`;
    this.squiggle.style.font = `${cs.fontSize} ${cs.fontFamily}`;
    const pad = parseFloat(cs.paddingLeft) || 0;
    // Past the end of the text (an expression cut short), the mark goes where the next character would.
    const w = this.measure.measureText(from <= text.length ? text.slice(0, from) : text + ' '.repeat(from - text.length)).width;
    // An input centres its one line of text: the line is font-size × normal line-height tall.
    const lineH = Math.round((parseFloat(cs.fontSize) || 13) * 1.25);
    return [r.left - box.left + pad + w - input.scrollLeft, r.top - box.top + (r.height - lineH) / 2, lineH];
  }
}
