import * as vscode from 'vscode';
import { showNoModels, type ConfigService } from '../config';
import { Commands } from '../ids';
import { loadEngine } from '../loadEngine';
import type { ReviewLog } from '../log';
import type { ApiKeyStore } from '../secrets';
import { showInfo, showWarning, ui } from '../surfaces';

/**
 * "PiSAR Review: Check Models": one short request per configured model (the CLI's check-models),
 * each result written to the log, a summary shown with the first failure and its fix.
 */
export async function checkModelsInteractively(config: ConfigService, keys: ApiKeyStore, log: ReviewLog): Promise<void> {
  const models = config.current.models;
  if (models.length === 0) {
    await showNoModels(config.current);
    return;
  }
  if (!vscode.workspace.isTrusted) {
    void showWarning('PiSAR Review calls no model in an untrusted workspace; trust it to check the models.');
    return;
  }
  // openai comes with the engine bundle, loaded now rather than at activation.
  const { checkModel, keyStateText } = loadEngine();
  const checks = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: ui`PiSAR Review: checking ${models.length} model(s)…` },
    () => Promise.all(models.map(async (m) => {
      const key = await keys.keyFor(m);
      log.addSecret(key);
      return checkModel(m, key, key === undefined ? { what: `no API key was sent for "${m.name}" (none is set, or it is bound to another server)`, fix: `Run "PiSAR Review: Set API Key" for "${m.name}".` } : undefined);
    })),
  );
  for (const c of checks) {
    const flags = `reachable ${c.reachable ? 'yes' : 'no'}, key ${keyStateText(c)}, model found ${c.modelFound === null ? '?' : c.modelFound ? 'yes' : 'no'}`;
    const line = `check-models: ${c.ok ? 'ok' : 'FAIL'} "${c.name}" (${c.model} at ${c.baseUrl}): ${flags}` +
      `${c.answer !== undefined ? `; answer "${c.answer}"` : ''}${c.quirks.length ? `; quirks: ${c.quirks.join('; ')}` : ''}` +
      `${c.error ? `; error (${c.error.kind}): ${c.error.message}` : ''}${c.fix ? `; fix: ${c.fix}` : ''}`;
    if (c.ok) log.info(line);
    else log.warn(line);
  }
  const failed = checks.filter((c) => !c.ok);
  const showLog = 'Show Log';
  const answer = failed.length === 0
    ? await showInfo(`PiSAR Review: all ${checks.length} model(s) answered.${quirkNote(checks)}`, showLog)
    : await showWarning(
      `PiSAR Review: ${failed.length} of ${checks.length} model(s) failed the check. "${failed[0].name}": ${failed[0].error?.message ?? 'no answer'}${failed[0].fix ? ` Fix: ${failed[0].fix}` : ''}`,
      showLog,
    );
  if (answer === showLog) void vscode.commands.executeCommand(Commands.showLog);
}

function quirkNote(checks: readonly { quirks: string[] }[]): string {
  const n = checks.reduce((sum, c) => sum + c.quirks.length, 0);
  return n > 0 ? ` ${n} dialect quirk(s) noted in the log.` : '';
}
