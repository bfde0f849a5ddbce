import * as assert from 'node:assert/strict';
import { csvCell, markdownCell, markdownText, terminalText, uiText, visibleControls, WORD_JOINER } from '../../src/core/security/escape';

/**
 * One escaping function per surface (src/core/security/escape.ts), tried with the payloads an attacker
 * puts in a setting key, a file name, a row id, a model name or a server's error text. Each surface is
 * checked with the parser that surface really uses: VS Code's notification link and icon grammars
 * (copied from the workbench), a CommonMark + GFM autolink renderer for Markdown, a spreadsheet's
 * formula rule for CSV.
 */

// VS Code's notifications and input prompts (vs/base/common/linkedText.ts): the exact expression.
const VSCODE_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
// VS Code's label icons (vs/base/browser/ui/iconLabel/iconLabels.ts): `$(name)` or `$(name~spin)`, `\$(…)` escaped.
const VSCODE_ICON = /(\\)?\$\(([a-z0-9-]+(?:~[a-z]+)?)\)/gi;

interface MarkdownRenderer { render(text: string): string }
// markdown-it (CommonMark) with raw HTML on and GFM-style linkify: stricter than VS Code's hover, which has HTML off.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt = require('markdown-it') as new (options: object) => MarkdownRenderer;
const markdownRenderer = new MarkdownIt({ html: true, linkify: true });

/** Text once VS Code's link grammar is gone: what a notification shows. */
function shownText(text: string): string {
  return text.split(WORD_JOINER).join('');
}

const LINK_PAYLOADS = [
  '[Fix the field mapping](command:workbench.action.terminal.new)',
  '[Fix](COMMAND:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%5Cn%22%7D)',
  '[Open](file:///etc/passwd)',
  '[docs](https://evil.example/x "a title")',
  "[docs](https://evil.example/x 'a title')",
  '[[nested](command:a)](command:b)',
  '[a]](command:x)',
  '\\[escaped](command:x)',
  '[a\\](command:x)',
  'text before [x](command:x) and [y](command:y) after',
  '[x](command:x)[y](https://y.example)',
  '[x](vscode:extension/evil.ext)',
  '[x](javascript:alert(1))',
  '[x](data:text/html;base64,PHNjcmlwdD4=)',
  '[label]\n(command:x)',
];

describe('escaping: outside text on every surface is data', () => {
  describe('uiText: notifications, prompts, status bar, quick picks, titles', () => {
    for (const payload of LINK_PAYLOADS) {
      it(`makes no link of ${JSON.stringify(payload)} and shows the same text`, () => {
        const escaped = uiText(payload, 'breaks');
        VSCODE_LINK.lastIndex = 0;
        assert.equal(VSCODE_LINK.exec(escaped), null, `a link survived in ${JSON.stringify(escaped)}`);
        assert.equal(shownText(escaped), payload);
      });
    }

    it('the unescaped payloads are links to VS Code (so the checks above can fail)', () => {
      const live = LINK_PAYLOADS.filter((p) => { VSCODE_LINK.lastIndex = 0; return VSCODE_LINK.test(p); });
      assert.ok(live.length >= 10, `only ${live.length} payloads are links`);
    });

    for (const payload of ['$(terminal) Run', '$(sync~spin)', 'a $(x) b $(warning)', '\\$(escaped)', '$$(gear)', '$(zap)$(zap)']) {
      it(`makes no icon of ${JSON.stringify(payload)}`, () => {
        const escaped = uiText(payload);
        VSCODE_ICON.lastIndex = 0;
        assert.equal(VSCODE_ICON.exec(escaped), null);
        assert.equal(shownText(escaped), payload);
      });
    }

    it('keeps look-alikes as they are (VS Code gives them no meaning) and shows bidi and control characters', () => {
      const lookalikes = '［Fix］（command:x） ＄（terminal） [Fix]\u200B(command:x)';
      assert.equal(uiText(lookalikes), lookalikes);
      assert.equal(uiText('evil\u202Etxt.jsonl'), 'evil\\u202etxt.jsonl');
      assert.equal(uiText('a\u001b[31mred\u0007\u009b'), 'a\\u001b[31mred\\u0007\\u009b');
      assert.equal(uiText('two\nlines'), 'two\\u000alines');
      assert.equal(uiText('two\nlines', 'breaks'), 'two\nlines');
    });
  });

  describe('markdownText / markdownCell: hovers and the Markdown report', () => {
    const payloads = [
      '![pixel](https://tracker.example/p.png)',
      '![pixel][1]\n\n[1]: https://tracker.example/p.png',
      '[a][1]\n[1]: command:workbench.action.terminal.new',
      '[click](javascript:alert(1))',
      '[x](vbscript:msgbox)',
      '[x](data:text/html,<script>alert(1)</script>)',
      '[x](vscode:extension/evil)',
      '[x](file:///etc/passwd)',
      '<command:workbench.action.terminal.new>',
      '<https://evil.example>',
      '<a href="https://evil.example">x</a>',
      '<img src=x onerror=alert(1)>',
      '<svg><image href="https://tracker.example/p.png"/></svg>',
      'see https://evil.example/path and www.evil.example and me@evil.example',
      'HTTPS://EVIL.EXAMPLE',
      '\\[x](https://evil.example)',
      '\\\\[x](https://evil.example)',
      '[[nested](https://a.example)](https://b.example)',
      '&lt;img src=x&gt; &#91;x&#93;(https://evil.example)',
      '`code` **bold** _em_ ~~strike~~',
      '# heading\n- item\n1. first\n> quote\n    code block\n===',
      'a | b | c',
      '$(terminal)',
    ];
    for (const payload of payloads) {
      it(`renders ${JSON.stringify(payload)} as its own text: no link, image, HTML or formatting`, () => {
        for (const html of [markdownRenderer.render(markdownText(payload)), markdownRenderer.render(`| h |\n| - |\n| ${markdownCell(payload)} |`)]) {
          assert.doesNotMatch(html, /<(?!\/?(p|br|table|thead|tbody|tr|th|td)\b)[a-z]/i, `markup in ${html}`);
          assert.doesNotMatch(html, /<[a-z][^>]*\s(href|src)=/i);
        }
        // What a reader sees is the text itself (line breaks aside).
        const html = markdownRenderer.render(markdownText(payload));
        const seen = html.replace(/<br>\n?|<\/p>\n?<p>/g, '\n').replace(/<\/?p>\n?/g, '')
          .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\u00a0/g, ' ');
        // (A blank line is a paragraph break: one line break once rendered.)
        assert.equal(seen.trimEnd(), payload.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l !== '').join('\n').trimEnd());
      });
    }

    it('the unescaped payloads do render links, images or HTML (so the checks above can fail)', () => {
      const live = payloads.filter((p) => /<(a|img|svg|code|strong|em|h1|ul|ol|blockquote|pre)\b/.test(markdownRenderer.render(p)));
      assert.ok(live.length >= 15, `only ${live.length} payloads render markup`);
    });

    it('keeps a table cell on one line and in one column', () => {
      assert.equal(markdownCell('a|b\r\nc'), 'a\\|b<br>c');
      assert.equal(markdownRenderer.render(`| h |\n| - |\n| ${markdownCell('x | y\nz')} |`).match(/<td>/g)?.length, 1);
    });
  });

  describe('csvCell: spreadsheets', () => {
    const formulaCells = ['=1+1', '+1+1', '-1+1', '@SUM(A1)', '\t=1', '\r=1', ' =1', '＝HYPERLINK("https://evil")', '=HYPERLINK("https://evil.example","x")'];
    for (const cell of formulaCells) {
      it(`never starts a cell with a formula: ${JSON.stringify(cell)}`, () => {
        const out = csvCell(cell);
        const unquoted = out.startsWith('"') ? out.slice(1, -1).replace(/""/g, '"') : out;
        assert.doesNotMatch(unquoted, /^[\s]*[=+\-@\uff1d]|^[\t\r]/, out);
        assert.ok(unquoted.startsWith("'") || unquoted.startsWith('\\u000d'), out);
      });
    }

    for (const cell of ['a;=1+1', 'a,=cmd', 'a;@SUM(A1)', 'x\t-2+3', 'ok; +1']) {
      it(`neutralises a formula after a separator inside the cell: ${JSON.stringify(cell)}`, () => {
        const out = csvCell(cell);
        assert.ok(out.startsWith('"') && out.endsWith('"'), `not quoted: ${out}`);
        for (const part of out.slice(1, -1).split(/[,;\t]/).slice(1)) assert.match(part, /^ *'/, out);
      });
    }

    it('quotes as RFC 4180 says and makes control characters visible', () => {
      assert.equal(csvCell('say "hi"'), '"say ""hi"""');
      assert.equal(csvCell('two\r\nlines'), '"two\r\nlines"');
      assert.equal(csvCell('esc\u001b[2J'), 'esc\\u001b[2J');
      assert.equal(csvCell('plain text 0.5'), 'plain text 0.5');
    });
  });

  describe('terminalText and visibleControls: terminals and logs', () => {
    it('shows ESC, CSI, BEL, a lone CR, C1 and bidi controls as \\uXXXX; keeps tab, LF and CR LF', () => {
      const hostile = 'row\u001b]0;title\u0007\u001b[2J\rfake line\u009b31m\u202Eevil\tok\nnext\r\nend';
      const out = terminalText(hostile);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f\u202e]/);
      assert.doesNotMatch(out.replace(/\r\n/g, ''), /\r/);
      assert.equal(out, 'row\\u001b]0;title\\u0007\\u001b[2J\\u000dfake line\\u009b31m\\u202eevil\tok\nnext\r\nend');
    });

    it('writes escapes that JSON reads back as the same characters', () => {
      const value = 'a\u0085b\u202ec\u2028d';
      const json = visibleControls(JSON.stringify({ value }), 'breaks');
      assert.doesNotMatch(json, /[\u0085\u202e\u2028]/);
      assert.equal(JSON.parse(json).value, value);
    });
  });
});
