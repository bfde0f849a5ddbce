import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, sampleDataset } from './paths';

/** The sample's rows as plain objects (malformed lines left out), read independently of the extension. */
export function sampleRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const line of fs.readFileSync(sampleDataset, 'utf8').split('\n')) {
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) rows.push(value as Record<string, unknown>);
    } catch {
      // malformed lines are the Problems spec's business
    }
  }
  return rows;
}

/** `#RRGGBB` -> `rgb(r, g, b)`, as getComputedStyle reports colours. */
export function hexToRgb(hex: string): string {
  const n = parseInt(hex.replace('#', ''), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** A theme colour's default for dark themes, from the extension's manifest. */
export function darkDefault(colorId: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { contributes: { colors: { id: string; defaults: { dark: string } }[] } };
  const color = manifest.contributes.colors.find((c) => c.id === colorId);
  if (!color) throw new Error(`package.json contributes no colour ${colorId}`);
  return hexToRgb(color.defaults.dark);
}

/** 1-based lines of a dataset that are not a JSON object, found independently of the extension. */
export function malformedLines(file: string): number[] {
  const bad: number[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bad.push(i + 1);
    } catch {
      bad.push(i + 1);
    }
  });
  return bad;
}

/** Whether `shown` is `full` as the extension shortens a long model name: itself, or its start and end around an ellipsis. */
export function isShortNameOf(shown: string, full: string, max = 10): boolean {
  if (shown === full) return true;
  const [head, tail, ...rest] = shown.split('…');
  return rest.length === 0 && tail !== undefined && shown.length <= max && full.length > max && full.startsWith(head) && full.endsWith(tail);
}
