// ESLint (flat config) with typescript-eslint. Its main job here is the layering of STYLE.md, which
// tsconfig alone cannot hold: what each layer may import.
import tseslint from 'typescript-eslint';

const core = ['vscode', '**/host/**', '**/cli/**', '**/webview/**', '**/extension'];

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
