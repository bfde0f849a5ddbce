// ESLint (flat config) with typescript-eslint. Its main job here is the layering of STYLE.md, which
// tsconfig alone cannot hold: what each layer may import.
import tseslint from 'typescript-eslint';

const core = ['vscode', '**/host/**', '**/cli/**', '**/webview/**', '**/extension'];

// ---- pisar/outside-text-escaped ----
// Outside text (setting keys, file names, model names, labels, server text) reaches VS Code's surfaces only
// through one escaping function per surface (src/core/security/escape.ts, src/host/surfaces.ts): a
// notification renders `[x](command:…)` as a link that runs a command, the status bar `$(name)` as an icon,
// a hover Markdown images and links. This rule refuses a message built any other way.
const ESCAPERS = new Set(['uiText', 'markdownText', 'markdownCell', 'visibleControls', 'terminalText', 'escapeMessageOptions', 'escapePickItems', 'escapePickOptions']);
const ESCAPING_TAGS = new Set(['ui', 'markdown']);
const NOTIFICATIONS = new Set(['showInformationMessage', 'showWarningMessage', 'showErrorMessage']);
// Calls -> the positions of their arguments that are shown (or hold shown fields such as title, prompt, message).
const SHOWN_ARGUMENTS = new Map([
  ['showQuickPick', [0, 1]], ['showInputBox', [0]], ['appendMarkdown', [0]], ['setStatusBarMessage', [0]],
  ['withProgress', [0]], ['report', [0]], ['createWebviewPanel', [1]],
]);
const SHOWN_PROPERTIES = new Set(['text', 'tooltip', 'title', 'description', 'message', 'placeholder', 'placeHolder', 'prompt', 'validationMessage', 'label', 'detail', 'badge']);

function calleeName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier') return node.property.name;
  return undefined;
}

/** Text that is ours (a literal) or went through an escaping function. */
function isEscaped(node) {
  if (!node) return true;
  switch (node.type) {
    case 'Literal': return true;
    case 'TemplateLiteral': return node.expressions.length === 0;
    case 'TaggedTemplateExpression': return ESCAPING_TAGS.has(calleeName(node.tag));
    case 'CallExpression': return ESCAPERS.has(calleeName(node.callee));
    case 'ConditionalExpression': return isEscaped(node.consequent) && isEscaped(node.alternate);
    case 'LogicalExpression': return isEscaped(node.left) && isEscaped(node.right);
    case 'Identifier': return node.name === 'undefined';
    case 'ObjectExpression': return node.properties.every((p) => p.type === 'Property' ? !(p.key.type === 'Identifier' && SHOWN_PROPERTIES.has(p.key.name)) || isEscaped(p.value) : false);
    case 'ArrayExpression': return node.elements.every((e) => e === null || e.type === 'SpreadElement' ? false : isEscaped(e));
    default: return false;
  }
}

const outsideTextEscaped = {
  meta: {
    type: 'problem',
    messages: {
      escape: 'Text shown by {{sink}} must be a literal or go through its escaping function (uiText, markdownText, the `ui`/`markdown` tags, or the show*/pick/ask wrappers of src/host/surfaces.ts): outside text here can become a command link or an icon.',
    },
  },
  create(context) {
    const report = (node, sink) => context.report({ node, messageId: 'escape', data: { sink } });
    return {
      CallExpression(node) {
        const name = calleeName(node.callee);
        if (NOTIFICATIONS.has(name)) {
          const [message, options] = node.arguments;
          if (!isEscaped(message)) report(message, name);
          // The options ({ modal, detail }) or the first button: either is shown.
          if (options && !isEscaped(options)) report(options, name);
        } else if (SHOWN_ARGUMENTS.has(name)) {
          for (const i of SHOWN_ARGUMENTS.get(name)) if (!isEscaped(node.arguments[i])) report(node.arguments[i], name);
        }
      },
      NewExpression(node) {
        const name = calleeName(node.callee);
        if (name === 'MarkdownString' && node.arguments[0] && !isEscaped(node.arguments[0])) report(node.arguments[0], 'new MarkdownString');
        if (name === 'Diagnostic' && node.arguments[1] && !isEscaped(node.arguments[1])) report(node.arguments[1], 'new Diagnostic');
        if (name === 'TreeItem' && node.arguments[0] && !isEscaped(node.arguments[0])) report(node.arguments[0], 'new TreeItem');
      },
      'CallExpression > MemberExpression.callee[property.name="appendText"]'(node) {
        report(node, 'MarkdownString.appendText (it leaves bare URLs live: use appendMarkdown(markdownText(…)))');
      },
      AssignmentExpression(node) {
        const target = node.left;
        if (target.type !== 'MemberExpression' || target.computed || target.property.type !== 'Identifier') return;
        if (!SHOWN_PROPERTIES.has(target.property.name)) return;
        if (!isEscaped(node.right)) report(node.right, `.${target.property.name} =`);
      },
    };
  },
};

const pisarPlugin = { rules: { 'outside-text-escaped': outsideTextEscaped } };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', '.vscode-test/**', 'test/fixtures/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-control-regex': 'error',
    },
  },
  {
    // The engine: Node built-ins and npm packages only; never the VS Code layer, the CLI or the panel.
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: core, message: 'src/core is pure: it never imports vscode, src/host, src/cli or webview.' },
          { group: ['**/shared/**'], allowTypeImports: true, message: 'src/core imports src/shared with `import type` only.' },
        ],
      }],
    },
  },
  {
    // VS Code's text surfaces: outside text only through an escaping function (see outsideTextEscaped above).
    files: ['src/host/**/*.ts', 'src/extension.ts'],
    plugins: { pisar: pisarPlugin },
    rules: { 'pisar/outside-text-escaped': 'error' },
  },
  {
    // The shared protocol: types only, importable by the webview.
    files: ['src/shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../*', 'vscode', 'node:*'], message: 'src/shared holds types only and imports only src/shared.' }] }],
    },
  },
  {
    // The CLI is a shell over core.
    files: ['src/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['vscode', '**/host/**', '**/webview/**', '**/extension'], message: 'src/cli imports core only (never vscode, src/host or webview).' }] }],
    },
  },
  {
    // The panel app: webview/ itself, its npm controls and type-only src/shared; never host, core, node or vscode.
    files: ['webview/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['vscode', 'node:*', '**/src/core/**', '**/src/host/**', '**/src/cli/**', '**/src/extension'], message: 'webview imports only webview/ and type-only src/shared.' },
          { group: ['**/src/shared/**'], allowTypeImports: true, message: 'webview imports src/shared with `import type` only.' },
        ],
      }],
    },
  },
);
