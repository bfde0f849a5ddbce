/** Builds elements with text set through textContent only: dataset strings are never parsed as HTML. */

export interface ElementOptions {
  className?: string;
  text?: string;
  testid?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElementOptions = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), options, children);
}

/** A custom element (vscode-elements) with attributes; its text, if any, as textContent. */
export function custom(tag: string, options: ElementOptions = {}, ...children: Node[]): HTMLElement {
  return fill(document.createElement(tag), options, children);
}

function fill<T extends HTMLElement>(node: T, options: ElementOptions, children: Node[]): T {
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  if (options.testid) node.dataset.testid = options.testid;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

export function formatShare(share: number | null): string {
  return share === null ? '–' : `${Math.round(share * 1000) / 10}%`;
}

export function formatGap(value: number | null): string {
  if (value === null) return '–';
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(3)}`;
}
