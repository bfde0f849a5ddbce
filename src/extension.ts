import type * as vscode from 'vscode';
import { activateLazily } from './host/lazyReview';
import { showError } from './host/surfaces';

/**
 * Registers the commands, providers and the panel's view, each of which loads the review features
 * (dist/review.js) at its first use; nothing else runs at activation.
 */
export function activate(context: vscode.ExtensionContext): void {
  try {
    activateLazily(context, performance.now());
  } catch (err) {
    void showError(`PiSAR Review failed to start: ${(err as Error).message}`);
    throw err;
  }
}

export function deactivate(): void {}
