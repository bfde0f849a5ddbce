import * as assert from 'node:assert/strict';
import { csvCell, markdownCell } from '../../src/core/security/escape';
import { renderReport, type ReportInput, type ReportRow } from '../../src/core/report/render';
import { describeQuery } from '../../src/host/panel/panelController';

function input(): ReportInput {
  const rows: ReportRow[] = [
    {
      index: 0,
      line: 1,
      id: 'r1',
      input: 'Why, "exactly"?\nSecond line',
      reference: 'Price | value',
      scores: { ft: { score: 0.9123 }, gpt: { score: 0.41 } },
      annotations: [{ target: 'gpt', label: 'wrong', note: 'ignores price' }],
    },
    {
      index: 4,
      line: 6,
      id: 'x',
      input: '<img src=x onerror=alert(1)>',
      reference: '=HYPERLINK("http://evil")',
      scores: { ft: { score: null, error: 'HTTP 500' }, gpt: { score: null } },
      annotations: [],
    },
  ];
  return {
    summary: {
      file: '/w/data.jsonl',
      threshold: 0.7,
      rowCount: 7,
      models: [
        { model: 'ft', scored: 5, mean: 0.8, median: 0.85, shareAtLeast: 0.8, failures: 1 },
        { model: 'gpt', scored: 6, mean: 0.5, median: null, shareAtLeast: 0.5, failures: 0 },
      ],
      gaps: [{ a: 'ft', b: 'gpt', difference: -0.3 }],
      annotated: 1,
      selection: 'below 0.7 for any model',
    },
    models: ['ft', 'gpt'],
    rows,
  };
}

/** A small RFC 4180 reader: enough to prove the CSV round-trips. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    }
    else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  return records;
}

describe('report export', () => {
  it('Markdown: summary table, gaps and rows, with cells that cannot break the table or run HTML', () => {
    const [file] = renderReport('markdown', input());
    assert.equal(file.extension, '.md');
    const lines = file.text.split('\n');
    assert.ok(lines.includes('| ft | 5 | 0.800 | 0.850 | 80.0% | 1 |'));
    assert.ok(lines.includes('| gpt | 6 | 0.500 |  | 50.0% | 0 |'), 'a missing median is an empty cell');
    assert.ok(lines.includes('| ft | gpt | -0.300 |'), 'mean b - a: gpt is 0.3 below ft');
    assert.ok(lines.includes('## Rows (2)'));
    assert.ok(lines.includes('| r1 | 1 | Why, "exactly"?<br>Second line | Price \\| value | 0.912 | 0.410 ▼ below | gpt: wrong (ignores price) |'));
    assert.ok(lines.includes('| x | 6 | \\<img src=x onerror=alert(1)> | =HYPERLINK("http\\://evil") | failed: HTTP 500 | n/a |  |'));
    assert.ok(!/(^|[^\\])<img/.test(file.text), 'no live HTML');
    assert.ok(file.text.includes('- Rows exported: below 0.7 for any model'));
  });

  it('CSV: rows file and summary file that parse back to the same values', () => {
    const [rows, summary] = renderReport('csv', input());
    assert.equal(rows.suffix, '');
    assert.equal(summary.suffix, '.summary');
    const parsed = parseCsv(rows.text);
    assert.deepEqual(parsed[0], ['id', 'line', 'input', 'reference', 'score:ft', 'error:ft', 'rougeL:ft', 'score:gpt', 'error:gpt', 'rougeL:gpt', 'annotations']);
    assert.deepEqual(parsed[1], ['r1', '1', 'Why, "exactly"?\nSecond line', 'Price | value', '0.9123', '', '', '0.41', '', '', 'gpt: wrong (ignores price)']);
    assert.deepEqual(parsed[2], ['x', '6', '<img src=x onerror=alert(1)>', '\'=HYPERLINK("http://evil")', '', 'HTTP 500', '', '', '', '', ''], 'a formula is defused');
    assert.equal(parsed.length, 3);

    const s = parseCsv(summary.text);
    assert.deepEqual(s[0], ['model', 'scored', 'mean', 'median', 'share >= 0.7', 'failed', 'gap_vs:ft', 'gap_vs:gpt']);
    assert.deepEqual(s[1], ['ft', '5', '0.8', '0.85', '0.8', '1', '', '0.3']);
    assert.deepEqual(s[2], ['gpt', '6', '0.5', '', '0.5', '0', '-0.3', '']);
  });

  it('JSONL: a summary line then one line per row, each parseable', () => {
    const [file] = renderReport('jsonl', input());
    const lines = file.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(lines[0].type, 'summary');
    assert.equal(lines[0].models[1].median, null);
    assert.deepEqual(lines[0].gaps, [{ a: 'ft', b: 'gpt', difference: -0.3 }]);
    assert.equal(lines[1].type, 'row');
    assert.equal(lines[1].input, 'Why, "exactly"?\nSecond line');
    assert.deepEqual(lines[2].scores, { ft: { score: null, error: 'HTTP 500' }, gpt: { score: null } });
  });

  it('escapes single cells', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('-1+2'), "'-1+2");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(markdownCell('a|b\r\nc'), 'a\\|b<br>c');
    assert.equal(markdownCell('`code` & <b>'), '\\`code\\` \\& \\<b>');
  });

  it('says in words which rows were exported', () => {
    assert.equal(describeQuery({ sort: { column: 'index', descending: false }, filter: {} }, 0.7, 45, 45), '45 of 45 rows; file order');
    assert.equal(
      describeQuery({ sort: { column: 'score:gpt', descending: true }, filter: { below: { model: 'gpt' }, annotated: true, text: 'tax' } }, 0.7, 3, 45),
      '3 of 45 rows: below 0.7 for gpt; annotated; containing "tax"; sorted by score:gpt (descending)',
    );
  });
});
