/** Command ids, as contributed in package.json (category "PiSAR Review"). */
export const Commands = {
  scoreRow: 'pisarReview.scoreRow',
  scoreRowWith: 'pisarReview.scoreRowWith',
  scoreFile: 'pisarReview.scoreFile',
  cancelScoring: 'pisarReview.cancelScoring',
  annotateRow: 'pisarReview.annotateRow',
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
} as const;

/** Setting keys under the `pisarReview` section. */
export const Settings = {
  section: 'pisarReview',
  models: 'models',
  threshold: 'threshold',
  embeddingProvider: 'embedding.provider',
  embeddingModel: 'embedding.model',
  embeddingDtype: 'embedding.dtype',
  embeddingRemoteBaseUrl: 'embedding.remote.baseUrl',
  embeddingRemoteModel: 'embedding.remote.model',
  annotationLabels: 'annotation.labels',
  problemsLowScores: 'problems.lowScores',
  codeLensEnabled: 'codeLens.enabled',
  fieldMapping: 'fieldMapping',
} as const;

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
} as const;
