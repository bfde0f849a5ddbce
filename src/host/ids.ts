import { SETTINGS_SECTION, SettingKeys } from '../core/config/settingKeys';

/**
 * Command ids, as contributed in package.json (category "PiSAR Review"). The one list: each has one
 * handler in the command table (src/host/commands.ts), and test/unit/commands.test.ts holds it equal to the manifest.
 */
export const Commands = {
  scoreRow: 'pisarReview.scoreRow',
  scoreRowWith: 'pisarReview.scoreRowWith',
  scoreFile: 'pisarReview.scoreFile',
  scoreFileViaBatch: 'pisarReview.scoreFileViaBatch',
  judgeFile: 'pisarReview.judgeFile',
  collectBatch: 'pisarReview.collectBatch',
  cancelBatch: 'pisarReview.cancelBatch',
  cancelScoring: 'pisarReview.cancelScoring',
  annotateRow: 'pisarReview.annotateRow',
  correctReference: 'pisarReview.correctReference',
  editAnnotation: 'pisarReview.editAnnotation',
  removeAnnotation: 'pisarReview.removeAnnotation',
  nextSuspectReference: 'pisarReview.nextSuspectReference',
  nextBelowThreshold: 'pisarReview.nextBelowThreshold',
  exportAnnotatedCopy: 'pisarReview.exportAnnotatedCopy',
  setApiKey: 'pisarReview.setApiKey',
  clearApiKey: 'pisarReview.clearApiKey',
  openSample: 'pisarReview.openSample',
  showLog: 'pisarReview.showLog',
  checkModels: 'pisarReview.checkModels',
  openInPanel: 'pisarReview.openInPanel',
  toggleBlindMode: 'pisarReview.toggleBlindMode',
  exportTrainingData: 'pisarReview.exportTrainingData',
  exportReport: 'pisarReview.exportReport',
  showPanel: 'pisarReview.showPanel',
  useSuggestedThreshold: 'pisarReview.useSuggestedThreshold',
  previewRequest: 'pisarReview.previewRequest',
  compactSidecars: 'pisarReview.compactSidecars',
} as const;

/** View ids, as contributed in package.json. */
export const Views = {
  panel: 'pisarReview.panel',
} as const;

/** Commands VS Code makes for our contributions (a view's `.focus`). */
export const ViewCommands = {
  focusPanel: `${Views.panel}.focus`,
} as const;

/** Setting keys under the `pisarReview` section (the one settings parser's, src/core/config/settings.ts, names them in settingKeys.ts). */
export const Settings = { section: SETTINGS_SECTION, ...SettingKeys } as const;

/** Themable colours, as contributed in package.json. */
export const Colors = {
  scorePass: 'pisarReview.scorePassForeground',
  scoreFail: 'pisarReview.scoreFailForeground',
  scoreStale: 'pisarReview.scoreStaleForeground',
  scoreError: 'pisarReview.scoreErrorForeground',
  annotation: 'pisarReview.annotationForeground',
  belowThresholdRuler: 'pisarReview.belowThresholdRuler',
  suspectRuler: 'pisarReview.suspectReferenceRuler',
  annotationRuler: 'pisarReview.annotationRuler',
} as const;

/** Context keys for `when` clauses. */
export const ContextKeys = {
  isDataset: 'pisarReview.isDataset',
  scoring: 'pisarReview.scoring',
  /** The active dataset has a batch submitted and not yet collected. */
  batchPending: 'pisarReview.batchPending',
} as const;
