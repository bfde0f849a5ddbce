// The heavy half of the extension (model calls through openai, the scorer), bundled apart as dist/engine.js
// and required at the first score, so activation loads none of it. Not a barrel: a bundle entry point.
export { runDataset, RunError } from '../core/runner/runner';
export { judgeDataset } from '../core/judge/judgeRun';
export { checkModel, keyStateText } from '../core/runner/checkModels';
export { RequestCache } from '../core/runner/requestCache';
export { createScorer } from '../core/scoring/scorer';
export { createNliChecker } from '../core/scoring/nli';
export { previewDocument } from '../core/runner/preview';
export { PromptError } from '../core/runner/prompt';
export { ImageError } from '../core/runner/images';
export { cancelBatches, collectBatches, readBatchStates, submitBatches } from '../core/batch/batchRun';
export { BatchLedger } from '../core/store/batchLedger';
export { BatchApiError, engineFor as batchEngineFor } from '../core/batch/engines';
