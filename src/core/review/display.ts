/** How review facts read for a person, alike in the editor, the panel and the CLI. Pure: no vscode. */

/**
 * Short, distinct names for model columns and inline scores: a name up to `max` characters stays; a
 * longer one keeps its start and its end (`annotator-ft-qwen3` -> `annot…qwen3`), since names of one
 * family differ at the end as often as at the start. Lengthened until no two names read the same.
 */
export function compactModelNames(models: readonly string[], max = 12): Map<string, string> {
  const out = new Map<string, string>();
  for (let width = Math.max(5, max); ; width += 2) {
    out.clear();
    for (const m of models) out.set(m, middleTruncate(m, width));
    const shown = [...out.values()];
    if (new Set(shown).size === shown.length || models.every((m) => m.length <= width)) return out;
  }
}

/** `text` cut to `max` characters by an ellipsis in the middle. */
export function middleTruncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${text.slice(0, head)}…${tail > 0 ? text.slice(text.length - tail) : ''}`;
}

/** A problem for a person: what is wrong, then the fix, kept apart (`… is not JSON. Fix: …`). */
export function withFix(message: string, fix: string | undefined): string {
  const what = message.trim().replace(/[.\s]+$/, '');
  return fix && fix.trim() ? `${what}. Fix: ${fix.trim()}` : `${what}.`;
}

/**
 * The embedding model named by a scorer key as stored beside each score (`local:<id or folder>:<dtype>`,
 * `remote:<origin>:<model>`), for people: `all-MiniLM-L6-v2 (fp32)`, `text-embedding-3-small at api.openai.com`.
 */
export function embeddingModelName(scorerKey: string): string {
  const local = /^local:(.+):(fp32|q8|fp16|q4)$/.exec(scorerKey);
  if (local) {
    const parts = local[1].split(/[\\/]+/).filter((p) => p !== '');
    return `${parts[parts.length - 1] ?? local[1]} (${local[2]})`;
  }
  const remote = /^remote:(\w+:\/\/[^:/]+(?::\d+)?):(.+)$/.exec(scorerKey);
  if (remote) return `${remote[2]} at ${remote[1].replace(/^\w+:\/\//, '')}`;
  return scorerKey;
}
