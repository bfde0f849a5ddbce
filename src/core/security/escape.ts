/**
 * Text from outside (dataset text, row ids, file names, setting keys and values, model names, labels,
 * server error text, sidecar fields) is data on every surface. One escaping function per surface:
 *
 * - `uiText`: VS Code's plain surfaces that parse a little syntax: notifications and input-box prompts
 *   turn `[label](command:…)` into a link that runs a command; status bar, quick picks and titles turn
 *   `$(name)` into an icon. Both are broken with an invisible word joiner: the text reads the same.
 * - `markdownText` / `markdownCell`: Markdown (hovers, the Markdown report): every character that can
 *   start a link, image, autolink, HTML, emphasis or code is backslash-escaped, so nothing is live.
 * - `csvCell`: a CSV field a spreadsheet never runs as a formula (OWASP CSV injection guidance).
 * - `terminalText`: a terminal or log: control characters shown as `\u001b`, never acted on.
 *
 * Every one of them first makes control characters visible (`visibleControls`): ESC sequences, C1
 * controls and bidirectional overrides (which reorder what a reader sees) lose their power, not their trace.
 * Pure: the CLI, the host and the report renderer share it.
 */

/** Joins without a visible mark: placed inside `](` and `$(` it breaks VS Code's link and icon syntax. */
export const WORD_JOINER = '\u2060';

// C0 except tab and line feed, DEL, C1, and the bidirectional controls (Trojan Source, CVE-2021-42574).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_AND_BREAKS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character written as a visible `\uXXXX` escape (also valid inside a JSON
 * string, where it decodes to the same character). `keep: 'breaks'` keeps tab, line feed and CR LF.
 */
export function visibleControls(text: string, keep: 'none' | 'breaks' = 'none'): string {
  if (keep === 'none') return text.replace(CONTROLS_AND_BREAKS, unicodeEscape);
  return text.split('\r\n').map((part) => part.replace(CONTROLS, unicodeEscape)).join('\r\n');
}

/**
 * Text for VS Code's notifications, input-box prompts, status bar, quick-pick items, tree and panel
 * titles and diagnostics: control characters visible, `[label](target)` never a link (a command link
 * in a notification runs on click, even in Restricted Mode) and `$(name)` never an icon. The text reads
 * the same; only an invisible word joiner is added inside `](` and `$(`.
 */
export function uiText(text: string, keep: 'none' | 'breaks' = 'none'): string {
  return visibleControls(text, keep)
    .replace(/\]\(/g, `]${WORD_JOINER}(`)
    .replace(/\$\(/g, `$${WORD_JOINER}(`);
}

// The ASCII punctuation that is Markdown syntax anywhere in a line (CommonMark lets any ASCII punctuation
// be escaped): links, images, autolinks, HTML, entities, emphasis, code, tables, icons, e-mail autolinks.
// `#`, `+`, `-`, `=`, `>` and `1.` act only at the start of a line and are escaped there (a table cell has none); `( ) : . / ' "` are
// inert once `[`, `]` and `<` are escaped (bare `https://` and `www.` are handled apart).
const MARKDOWN_SPECIAL = /[\\`*_[\]<!|~&$]|(?<=[\w.+-])@/g;

/**
 * Inline Markdown that renders as exactly `text`: no link, image, autolink (`<…>`, bare `https://` or
 * `www.` and e-mail addresses of GFM), raw HTML, entity, emphasis, code or heading. Line breaks
 * become hard breaks (`  \n`) unless `breaks` is 'br' (a table cell: `<br>`, the report's own tag).
 */
export function markdownText(text: string, breaks: 'hard' | 'br' = 'hard'): string {
  const lines = text.replace(/\t/g, '    ').split(/\r?\n|\r(?!\n)/).map((line) => visibleControls(line));
  const escaped = lines.map((line) => {
    const inline = line
      .replace(MARKDOWN_SPECIAL, '\\$&')
      // GFM extended autolinks: `scheme://` and `www.`.
      .replace(/:(?=\/\/)/g, '\\:')
      .replace(/\b(www)\./gi, '$1\\.');
    // In a table cell ('br') nothing is at the start of a line.
    if (breaks === 'br') return inline;
    return inline
      // Block syntax at the start of a line: headings, lists, quotes, setext underlines, ordered lists (`1.`, `2)`).
      .replace(/^([#+\-=>])/, '\\$1')
      .replace(/^(\d+)([.)])/, '$1\\$2')
      // Leading spaces would make a code block: kept as non-breaking spaces.
      .replace(/^ +/, (s) => '&nbsp;'.repeat(s.length));
  });
  return escaped.join(breaks === 'br' ? '<br>' : '  \n');
}

/** A GitHub Markdown table cell: `markdownText` on one line (`|` escaped, breaks as `<br>`). */
export function markdownCell(text: string): string {
  return markdownText(text, 'br');
}

// A spreadsheet runs a cell as a formula when it starts with one of these (fullwidth forms too: Excel
// reads them as the ASCII sign in some locales), or with a tab, CR or LF before them.
const FORMULA_START = /^[\s]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]/;
// Field separators a spreadsheet may split on (',' here; ';' in many locales; tab).
const SEPARATOR_THEN_FORMULA = /([,;\t])(?=[ ]*[=+\-@\uff1d\uff0b\uff0d\uff20])/g;

/**
 * An RFC 4180 CSV field that no spreadsheet runs as a formula (OWASP CSV injection guidance): a leading
 * `=`, `+`, `-`, `@`, tab or CR (also after a separator inside the cell, which a spreadsheet using that
 * separator would split on) gets an apostrophe; a field holding a quote, separator or line break is
 * quoted. Control characters other than tab and line breaks are shown as `\uXXXX`.
 */
export function csvCell(text: string): string {
  const clean = visibleControls(text, 'breaks');
  const inner = clean.replace(SEPARATOR_THEN_FORMULA, "$1'");
  const safe = FORMULA_START.test(inner) ? `'${inner}` : inner;
  return /[",;\t\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * Text bound for a terminal or a log: every control character (ESC, CSI, BEL, a lone CR that rewrites
 * the line, bidirectional overrides) shown as `\uXXXX`; tab, line feed and CR LF kept.
 */
export function terminalText(text: string): string {
  return visibleControls(text, 'breaks');
}
