import * as vscode from 'vscode';
import { Settings } from '../ids';

/**
 * Turns blind mode (pisarReview.review.blind) on or off where it is set: the workspace's value when
 * the workspace sets it (a team's review), else the user's. The config snapshot follows the change,
 * and every view is redrawn from it.
 */
export async function setBlindMode(blind: boolean): Promise<void> {
  const configuration = vscode.workspace.getConfiguration(Settings.section);
  const inspected = configuration.inspect<boolean>(Settings.reviewBlind);
  const target = inspected?.workspaceFolderValue !== undefined || inspected?.workspaceValue !== undefined
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await configuration.update(Settings.reviewBlind, blind, target);
}
