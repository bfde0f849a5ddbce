/**
 * The one rule that separates a model's reasoning from its answer, for called and precomputed
 * outputs alike. Reasoning models write their thinking into the text in many markups: `<think>`
 * (DeepSeek-R1, Qwen3), `<thinking>`, `<reasoning>`, `<seed:think>` (Seed-OSS), `◁think▷` (Kimi-VL),
 * `[THINK]` (Magistral), `<|begin_of_thought|>` (Bespoke/Sky-T1, with `<|begin_of_solution|>` around
 * the answer) and gpt-oss's harmony channels. Only the answer is stored as `output` and scored.
 */

/** A pair of markers around reasoning text. */
export interface ReasoningMarker {
  readonly open: string;
  readonly close: string;
}

/** What was taken out of an output before scoring: which markup, and how many characters. */
export interface ReasoningStripped {
  /** The opening marker (or `gpt-oss channels`) that was recognised. */
  readonly marker: string;
  /** Characters removed (the reasoning and its markers). */
  readonly chars: number;
}

export const BUILTIN_REASONING_MARKERS: readonly ReasoningMarker[] = [
  { open: '<think>', close: '</think>' },
  { open: '<thinking>', close: '</thinking>' },
  { open: '<reasoning>', close: '</reasoning>' },
  { open: '<seed:think>', close: '</seed:think>' },
  { open: '◁think▷', close: '◁/think▷' },
  { open: '[THINK]', close: '[/THINK]' },
  { open: '<|begin_of_thought|>', close: '<|end_of_thought|>' },
];

/** Markers that wrap the answer itself: removed, their text kept. */
const SOLUTION_MARKERS: readonly ReasoningMarker[] = [{ open: '<|begin_of_solution|>', close: '<|end_of_solution|>' }];

const HARMONY_NAME = 'gpt-oss channels';

export interface SplitAnswer {
  /** The answer (trimmed when anything was stripped; unchanged otherwise). */
  readonly text: string;
  /** Set when reasoning was found and removed. */
  readonly stripped?: ReasoningStripped;
  /** Reasoning was found and nothing else: the text holds no answer. */
  readonly reasoningOnly: boolean;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The answer part of `text`. Complete blocks are removed wherever they are; an opening marker with no
 * close removes everything after it (cut off while thinking); a closing marker with no opener removes
 * everything before it (chat templates that put the opener in the prompt, as DeepSeek-R1's does).
 * Markers match case-insensitively.
 */
export function splitReasoning(text: string, extra: readonly ReasoningMarker[] = []): SplitAnswer {
  const markers = compiled(extra);
  if (!markers.anyMarker.test(text)) return { text, reasoningOnly: false };
  const harmony = harmonyAnswer(text);
  if (harmony) return harmony;
  let out = text;
  let first: string | undefined;
  for (const m of markers.list) {
    if (!m.any.test(out)) continue;
    const before = out;
    out = out.replace(m.block, '');
    const closeAt = out.search(m.close);
    if (closeAt >= 0 && !m.open.test(out.slice(0, closeAt))) out = out.slice(closeAt).replace(m.close, '');
    const openAt = out.search(m.open);
    if (openAt >= 0) out = out.slice(0, openAt);
    if (out !== before) first ??= m.marker.open;
  }
  if (first === undefined) return { text, reasoningOnly: false };
  for (const { open, close } of SOLUTION_MARKERS) out = out.replace(new RegExp(`${escape(open)}|${escape(close)}`, 'gi'), '');
  const answer = out.trim();
  return { text: answer, stripped: { marker: first, chars: text.length - answer.length }, reasoningOnly: answer === '' };
}

interface CompiledMarker {
  readonly marker: ReasoningMarker;
  readonly any: RegExp;
  readonly block: RegExp;
  readonly open: RegExp;
  readonly close: RegExp;
}

interface CompiledMarkers {
  readonly list: CompiledMarker[];
  /** Any marker at all (one test before the detailed work: most texts hold none). */
  readonly anyMarker: RegExp;
}

const compiledCache = new Map<string, CompiledMarkers>();

/** The built-in markers and `extra`, as regular expressions (made once per marker list). */
function compiled(extra: readonly ReasoningMarker[]): CompiledMarkers {
  const key = JSON.stringify(extra);
  let set = compiledCache.get(key);
  if (!set) {
    const list = [...BUILTIN_REASONING_MARKERS, ...extra.filter((m) => m.open !== '' && m.close !== '')].map((marker) => {
      const o = escape(marker.open);
      const c = escape(marker.close);
      return { marker, any: new RegExp(`${o}|${c}`, 'i'), block: new RegExp(`${o}[\\s\\S]*?${c}`, 'gi'), open: new RegExp(o, 'i'), close: new RegExp(c, 'i') };
    });
    const alternatives = list.flatMap((m) => [escape(m.marker.open), escape(m.marker.close)]);
    set = { list, anyMarker: new RegExp(`${alternatives.join('|')}|<\\|channel\\|>|^\\s*analysis`, 'i') };
    if (compiledCache.size > 16) compiledCache.clear();
    compiledCache.set(key, set);
  }
  return set;
}

/**
 * gpt-oss (harmony format) when a server hands back the raw channels: the answer is the last
 * `final` channel's message; `analysis` and `commentary` are reasoning. Servers that drop the
 * special tokens leave `analysis…assistantfinal…`: read the same way.
 */
function harmonyAnswer(text: string): SplitAnswer | undefined {
  if (/<\|channel\|>/.test(text)) {
    const finalAt = text.lastIndexOf('<|channel|>final<|message|>');
    if (finalAt < 0) {
      if (!/<\|channel\|>(analysis|commentary)/.test(text)) return undefined;
      return { text: '', stripped: { marker: HARMONY_NAME, chars: text.length }, reasoningOnly: true };
    }
    const start = finalAt + '<|channel|>final<|message|>'.length;
    const rest = text.slice(start);
    const end = rest.search(/<\|(return|end|call|start)\|>/);
    const answer = (end >= 0 ? rest.slice(0, end) : rest).trim();
    return { text: answer, stripped: { marker: HARMONY_NAME, chars: text.length - answer.length }, reasoningOnly: answer === '' };
  }
  const flat = /^\s*analysis([\s\S]*?)assistantfinal([\s\S]*)$/.exec(text);
  if (flat) {
    const answer = flat[2].trim();
    return { text: answer, stripped: { marker: HARMONY_NAME, chars: text.length - answer.length }, reasoningOnly: answer === '' };
  }
  return undefined;
}

/** Extra markers from a setting: a list of `{"open", "close"}` objects or `["open", "close"]` pairs. Returns a problem text when malformed. */
export function parseReasoningMarkers(value: unknown): { markers: ReasoningMarker[]; problem?: string } {
  if (value === undefined || value === null) return { markers: [] };
  if (!Array.isArray(value)) return { markers: [], problem: `must be a list of {"open", "close"} markers; got ${JSON.stringify(value)?.slice(0, 60)}` };
  const markers: ReasoningMarker[] = [];
  for (const [i, entry] of value.entries()) {
    const pair = Array.isArray(entry) ? { open: entry[0], close: entry[1] } : entry && typeof entry === 'object' ? (entry as { open?: unknown; close?: unknown }) : undefined;
    if (!pair || typeof pair.open !== 'string' || typeof pair.close !== 'string' || pair.open.trim() === '' || pair.close.trim() === '') {
      return { markers: [], problem: `entry ${i} must be {"open": "<mark>", "close": "</mark>"} with two non-empty strings; got ${JSON.stringify(entry)?.slice(0, 60)}` };
    }
    markers.push({ open: pair.open, close: pair.close });
  }
  return { markers };
}
