import * as vscode from 'vscode';
import { ConfigError, parseModelsConfig, type ModelConfig } from '../core/config/models';
import type { FieldMapping, FieldRole } from '../core/dataset/types';
import { Settings } from './ids';
import { Disposable } from './dispose';

export const DEFAULT_LABELS = ['wrong', 'incomplete', 'hallucinated', 'off-topic', 'fine'] as const;
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

export interface EmbeddingConfig {
  readonly provider: 'local' | 'remote';
  readonly model: string;
  readonly dtype: 'fp32' | 'q8';
  readonly remote: { readonly baseUrl: string; readonly model: string };
}

/** One read-only view of the `pisarReview.*` settings, rebuilt only when they change. */
export interface ReviewConfig {
  readonly models: readonly ModelConfig[];
  /** Why the models setting was rejected (the whole list is unusable until fixed), if it was. */
  readonly modelsError: string | undefined;
  readonly threshold: number;
  readonly embedding: EmbeddingConfig;
  readonly labels: readonly string[];
  readonly problemsLowScores: boolean;
  /** Row actions as CodeLens above each row. */
  readonly codeLens: boolean;
  readonly fieldMapping: FieldMapping;
}

const ROLES: readonly FieldRole[] = ['id', 'input', 'image', 'reference', 'outputs'];

/**
 * Reads the settings. VS Code itself drops workspace values of `restrictedConfigurations` while the
 * workspace is untrusted, so what is read here is already safe to act on.
 */
export function readConfig(): ReviewConfig {
  const c = vscode.workspace.getConfiguration(Settings.section);
  let models: ModelConfig[] = [];
  let modelsError: string | undefined;
  try {
    models = parseModelsConfig(c.get<unknown>(Settings.models, []), 'Settings (pisarReview.models)');
  } catch (err) {
    modelsError = err instanceof ConfigError ? err.message : String(err);
  }
  const threshold = c.get<number>(Settings.threshold, 0.7);
  const labels = c.get<unknown>(Settings.annotationLabels, DEFAULT_LABELS);
  const mapping = c.get<Record<string, unknown>>(Settings.fieldMapping, {});
  const fieldMapping: FieldMapping = {};
  for (const role of ROLES) {
    const key = mapping?.[role];
    if (typeof key === 'string' && key.trim() !== '') fieldMapping[role] = key.trim();
  }
  return {
    models,
    modelsError,
    threshold: typeof threshold === 'number' && Number.isFinite(threshold) ? threshold : 0.7,
    embedding: {
      provider: c.get<string>(Settings.embeddingProvider) === 'remote' ? 'remote' : 'local',
      model: c.get<string>(Settings.embeddingModel)?.trim() || DEFAULT_EMBEDDING_MODEL,
      dtype: c.get<string>(Settings.embeddingDtype) === 'q8' ? 'q8' : 'fp32',
      remote: {
        baseUrl: c.get<string>(Settings.embeddingRemoteBaseUrl, '').trim(),
        model: c.get<string>(Settings.embeddingRemoteModel, '').trim(),
      },
    },
    labels: Array.isArray(labels) && labels.every((l) => typeof l === 'string') && labels.length > 0
      ? [...new Set((labels as string[]).map((l) => l.trim()).filter((l) => l !== ''))]
      : [...DEFAULT_LABELS],
    problemsLowScores: c.get<boolean>(Settings.problemsLowScores, false) === true,
    codeLens: c.get<boolean>(Settings.codeLensEnabled, true) !== false,
    fieldMapping,
  };
}

/** Holds the current snapshot; fires when a `pisarReview` setting (or workspace trust) changes it. */
export class ConfigService extends Disposable implements vscode.Disposable {
  private snapshot: ReviewConfig;
  private readonly emitter = this._register(new vscode.EventEmitter<ReviewConfig>());
  readonly onDidChange = this.emitter.event;

  constructor() {
    super();
    this.snapshot = readConfig();
    this._register(vscode.Disposable.from(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(Settings.section)) this.refresh();
      }),
      // Granting trust makes restricted workspace values visible.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
    ));
  }

  get current(): ReviewConfig {
    return this.snapshot;
  }

  private refresh(): void {
    this.snapshot = readConfig();
    this.emitter.fire(this.snapshot);
  }
}
