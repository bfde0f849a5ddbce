import * as assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Commands, ViewCommands, Views } from '../../src/host/ids';
import { repoRoot } from '../support/files';

interface Manifest {
  contributes: {
    commands: { command: string }[];
    views: Record<string, { id: string }[]>;
    menus: Record<string, { command: string }[]>;
    keybindings: { command: string }[];
  };
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('Commands: ids in one place, one table of handlers', () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;
  const ids = Object.values(Commands) as string[];

  it('the Commands ids are exactly the commands package.json contributes, and every menu and keybinding names one of them', () => {
    assert.deepEqual([...ids].sort(), manifest.contributes.commands.map((c) => c.command).sort());
    const viewCommands = new Set(Object.values(ViewCommands) as string[]);
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) assert.ok(ids.includes(item.command) || viewCommands.has(item.command), `menu ${menu} names ${item.command}, which is not in Commands (src/host/ids.ts)`);
    }
    for (const k of manifest.contributes.keybindings) assert.ok(ids.includes(k.command), `keybinding names ${k.command}, which is not in Commands`);
    const views = Object.values(manifest.contributes.views).flat().map((v) => v.id);
    assert.deepEqual([...(Object.values(Views) as string[])].sort(), views.sort());
  });

  it('commands are registered in one place (src/host/commands.ts) and their ids are written only in src/host/ids.ts', async () => {
    const known = new Set([...ids, ...(Object.values(ViewCommands) as string[])]);
    const offenders: string[] = [];
    for (const file of [...(await sourceFiles(path.join(repoRoot, 'src'))), ...(await sourceFiles(path.join(repoRoot, 'webview')))]) {
      const rel = path.relative(repoRoot, file).split(path.sep).join('/');
      const text = await fsp.readFile(file, 'utf8');
      if (rel !== 'src/host/commands.ts' && /\bregisterCommand\s*\(/.test(text)) offenders.push(`${rel} calls registerCommand: add a handler to the command table instead`);
      if (rel === 'src/host/ids.ts') continue;
      for (const m of text.matchAll(/['"`](pisarReview\.[A-Za-z.]+)['"`]/g)) {
        if (known.has(m[1])) offenders.push(`${rel} writes the id ${m[1]}: use Commands/ViewCommands from src/host/ids.ts`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
