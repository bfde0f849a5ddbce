// The setting ids alone, apart from the parser (settings.ts), so the activation entry (src/host/ids.ts) can name
// them without bundling the parser.

export const SETTINGS_SECTION = 'pisarReview';

/** Setting keys under the `pisarReview` section; the CLI's config file uses the same keys. */
export const SettingKeys = {
  models: 'models',
  threshold: 'threshold',
  scoringMultiReference: 'scoring.multiReference',
  embeddingProvider: 'embedding.provider',
  embeddingModel: 'embedding.model',
  embeddingDtype: 'embedding.dtype',
  embeddingMaxUnknownShare: 'embedding.maxUnknownShare',
  embeddingRemoteBaseUrl: 'embedding.remote.baseUrl',
  embeddingRemoteModel: 'embedding.remote.model',
  annotationLabels: 'annotation.labels',
  reviewer: 'reviewer',
  reviewBlind: 'review.blind',
  calibrationBadLabels: 'calibration.badLabels',
  calibrationGoodLabels: 'calibration.goodLabels',
  problemsLowScores: 'problems.lowScores',
  codeLensEnabled: 'codeLens.enabled',
  inlineScoresPosition: 'inlineScores.position',
  fieldMapping: 'fieldMapping',
  baselineModels: 'baselineModels',
  humanModels: 'humanModels',
  reasoningMarkers: 'reasoning.markers',
  datasetMaxInflatedBytes: 'dataset.maxInflatedBytes',
  judgeModel: 'judge.model',
  judgePrompt: 'judge.prompt',
  contradictionEnabled: 'contradiction.enabled',
  contradictionModel: 'contradiction.model',
  contradictionThreshold: 'contradiction.threshold',
  batchPollSeconds: 'batch.pollSeconds',
} as const;
