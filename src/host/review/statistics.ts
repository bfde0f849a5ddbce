import * as vscode from 'vscode';
import { parseThreshold, settingProblemMessage } from '../../core/config/settings';
import type { StatisticsReport } from '../../core/report/statistics';
import { formatThreshold } from '../../core/rules/rules';
import { Settings } from '../ids';
import { showInfo, showWarning } from '../surfaces';

/**
 * Sets pisarReview.threshold to the F1-maximising threshold of the cosine calibration. From the
 * panel the user clicked a button showing the value, so `threshold` is set as given; from the
 * command palette the suggestion is computed and confirmed first.
 */
export async function useSuggestedThreshold(statistics: () => Promise<StatisticsReport | undefined>, threshold?: unknown): Promise<void> {
  let value: number;
  const current = parseThreshold(vscode.workspace.getConfiguration(Settings.section).get(Settings.threshold)).value;
  if (typeof threshold === 'number') {
    value = threshold;
  } else {
    const report = await statistics();
    if (!report) {
      void showWarning('PiSAR Review: open a dataset (.jsonl) with scores and annotations to calibrate the threshold.');
      return;
    }
    const cosine = report.calibration.metrics.find((m) => m.metric === 'cosine');
    if (!cosine || cosine.status !== 'ready' || !cosine.suggested) {
      void showInfo(
        `PiSAR Review: calibration needs ${cosine?.needed ?? 20} more labelled model outputs (${cosine?.reason ?? 'label outputs as fine or bad'}). Label outputs in the panel or with "Annotate Row at Cursor…".`,
      );
      return;
    }
    const s = cosine.suggested;
    const interval = s.interval ? ` (95% interval ${s.interval.low.toFixed(3)} to ${s.interval.high.toFixed(3)})` : '';
    const set = `Set to ${s.threshold.toFixed(3)}`;
    const choice = await showInfo(
      `PiSAR Review: on ${cosine.labelled} labelled outputs, "score < ${s.threshold.toFixed(3)} => bad" has the best F1, ${s.f1.toFixed(2)}${interval}; the threshold is ${formatThreshold(current)}.`,
      set,
    );
    if (choice !== set) return;
    value = s.threshold;
  }
  const checked = parseThreshold(value);
  if (checked.problem) throw new Error(settingProblemMessage(checked.problem));
  // Three decimals: the suggestion lies halfway between two scores, more digits mean nothing.
  const rounded = Math.round(value * 1000) / 1000;
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration(Settings.section).update(Settings.threshold, rounded, target);
  void showInfo(`PiSAR Review: threshold set to ${formatThreshold(rounded)} (was ${formatThreshold(current)}).`);
}
