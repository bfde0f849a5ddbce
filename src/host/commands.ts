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

/** Runs a command by name with VS Code's arguments: the table's handler, however it is reached. */
export type CommandRunner = (name: CommandName, args: unknown[]) => Promise<void>;

/**
 * Registers every command id of `Commands` at activation; each call goes to `run`, which may load the
 * handlers first (src/host/lazyReview.ts), so activation registers ids, not code.
 */
export function registerCommands(run: CommandRunner): vscode.Disposable[] {
  return (Object.keys(Commands) as CommandName[]).map((name) => vscode.commands.registerCommand(Commands[name], (...args: unknown[]) => run(name, args)));
}

/**
 * Runs one handler of the table. A handler's failure is logged and shown once, with its message, here
 * rather than in each handler.
 */
export function commandRunner(table: CommandTable, log: ReviewLog): CommandRunner {
  return async (name, args) => {
    try {
      await table[name](...args);
    } catch (err) {
      log.error(err as Error);
      void showError(`PiSAR Review: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}
