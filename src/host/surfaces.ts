import * as vscode from 'vscode';
import { markdownText, uiText } from '../core/security/escape';

/**
 * The host's only way to VS Code's text surfaces. Messages, buttons, quick picks and input boxes
 * carry setting keys, file names, model names, labels and server text: each goes through the
 * surface's escaping function here (src/core/security/escape.ts), so `[x](command:…)` is never a
 * link that runs a command and `$(name)` never an icon. The lint rule `pisar/outside-text-escaped`
 * (eslint.config.mjs) refuses a direct call with text that skipped them.
 */

type Severity = 'info' | 'warning' | 'error';

interface NoticeOptions {
  /** A modal dialog; `detail` is its second line. */
  readonly modal?: boolean;
  readonly detail?: string;
}

function escapeMessageOptions(options: NoticeOptions): vscode.MessageOptions {
  return { modal: options.modal, detail: options.detail === undefined ? undefined : uiText(options.detail, 'breaks') };
}

function show<T extends string>(severity: Severity, message: string, options: NoticeOptions, actions: readonly T[]): Thenable<T | undefined> {
  // Buttons may be named after outside text (an origin); the escaped label is mapped back to the caller's.
  const shown = actions.map((action) => uiText(action));
  const answer = severity === 'info' ? vscode.window.showInformationMessage(uiText(message, 'breaks'), escapeMessageOptions(options), ...shown)
    : severity === 'warning' ? vscode.window.showWarningMessage(uiText(message, 'breaks'), escapeMessageOptions(options), ...shown)
      : vscode.window.showErrorMessage(uiText(message, 'breaks'), escapeMessageOptions(options), ...shown);
  return answer.then((picked) => (picked === undefined ? undefined : actions[shown.indexOf(picked)]));
}

/** An information notification; resolves to the action clicked (as passed), if any. */
export function showInfo<T extends string>(message: string, ...actions: T[]): Thenable<T | undefined> {
  return show('info', message, {}, actions);
}

export function showWarning<T extends string>(message: string, ...actions: T[]): Thenable<T | undefined> {
  return show('warning', message, {}, actions);
}

export function showError<T extends string>(message: string, ...actions: T[]): Thenable<T | undefined> {
  return show('error', message, {}, actions);
}

/** A modal warning with a detail line. */
export function showModalWarning<T extends string>(message: string, detail: string, ...actions: T[]): Thenable<T | undefined> {
  return show('warning', message, { modal: true, detail }, actions);
}

/** Each shown (escaped) quick-pick item -> the caller's item, so a pick resolves to what was passed. */
const pickedItems = new WeakMap<vscode.QuickPickItem, vscode.QuickPickItem>();

/** Quick-pick items with their visible fields escaped; everything else (the caller's own fields) kept. */
function escapePickItems<T extends vscode.QuickPickItem>(items: readonly T[]): T[] {
  return items.map((item) => {
    const shown = {
      ...item,
      label: uiText(item.label),
      description: item.description === undefined ? undefined : uiText(item.description),
      detail: item.detail === undefined ? undefined : uiText(item.detail),
    };
    pickedItems.set(shown, item);
    return shown;
  });
}

function escapePickOptions<O extends vscode.QuickPickOptions | vscode.InputBoxOptions>(options: O): O {
  const o = options as vscode.QuickPickOptions & vscode.InputBoxOptions;
  return {
    ...options,
    title: o.title === undefined ? undefined : uiText(o.title),
    placeHolder: o.placeHolder === undefined ? undefined : uiText(o.placeHolder),
    ...('prompt' in o ? { prompt: o.prompt === undefined ? undefined : uiText(o.prompt) } : {}),
  };
}

/** A quick pick of `items`; resolves to the caller's own item objects (labels as given, not as shown). */
export async function pick<T extends vscode.QuickPickItem>(items: readonly T[], options: vscode.QuickPickOptions & { canPickMany: true }): Promise<T[] | undefined>;
export async function pick<T extends vscode.QuickPickItem>(items: readonly T[], options?: vscode.QuickPickOptions): Promise<T | undefined>;
export async function pick<T extends vscode.QuickPickItem>(items: readonly T[], options: vscode.QuickPickOptions = {}): Promise<T | T[] | undefined> {
  const picked: unknown = await vscode.window.showQuickPick(escapePickItems(items), escapePickOptions(options));
  const original = (p: T) => pickedItems.get(p) as T;
  if (picked === undefined) return undefined;
  return Array.isArray(picked) ? (picked as T[]).map(original) : original(picked as T);
}

/** An input box whose title, prompt, placeholder and validation messages are escaped (the value is the user's). */
export function ask(options: vscode.InputBoxOptions): Thenable<string | undefined> {
  const validate = options.validateInput;
  return vscode.window.showInputBox(escapePickOptions({
    ...options,
    validateInput: validate
      ? async (value: string) => {
        const problem = await validate(value);
        return typeof problem === 'string' ? uiText(problem) : problem;
      }
      : undefined,
  }));
}

/**
 * Builds Markdown for a hover from our own Markdown and outside text: `markdown\`**Row** ${id}\``
 * escapes every interpolated value with markdownText (no link, image, HTML or autolink) and keeps
 * the literal parts, which are ours.
 */
export function markdown(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  return strings.reduce((out, part, i) => out + part + (i < values.length ? markdownText(String(values[i])) : ''), '');
}

/** The same for status-bar text and tooltips: our `$(icon)`s in the literal parts stay icons, interpolated text never becomes one. */
export function ui(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  return strings.reduce((out, part, i) => out + part + (i < values.length ? uiText(String(values[i]), 'breaks') : ''), '');
}
