import * as vscode from 'vscode';
import { Commands } from './ids';
import type { ReviewLog } from './log';
import { showError } from './surfaces';

/** A command's name in the `Commands` table of ids. */
export type CommandName = keyof typeof Commands;

/** One command's handler: the arguments VS Code passes (a CodeLens's, a menu's, or none). */
export type CommandHandler = (...args: unknown[]) => unknown;

/** A handler for each command id; the type refuses a table that misses one. */
export type CommandTable = { readonly [K in CommandName]: CommandHandler };

/**
 * Registers every command of the table under its id. A handler's failure is logged and shown once,
 * with its message, here rather than in each handler.
 */
export function registerCommandTable(table: CommandTable, log: ReviewLog): vscode.Disposable[] {
  return (Object.keys(Commands) as CommandName[]).map((name) =>
    vscode.commands.registerCommand(Commands[name], async (...args: unknown[]) => {
      try {
        await table[name](...args);
      } catch (err) {
        log.error(err as Error);
        void showError(`PiSAR Review: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );
}
