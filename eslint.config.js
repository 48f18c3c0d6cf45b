import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// One no-restricted-imports per file: a later config object replaces the rule, it does not add
// to it, so each layer below lists every ban that applies to it.
const SPAWN_THROUGH_EXEC = ['child_process', 'node:child_process'].map((name) => ({ name, message: 'Start processes through src/util/exec.' }));
// The core must serve the CLI too.
const CORE_THROUGH_RUNNER = [{ name: '@actions/core', message: 'Only src/runner talks to @actions/core.' }];
const restrictImports = (...bans) => ({ 'no-restricted-imports': ['error', { paths: bans.flat() }] });
const SHIPPED_CODE = ['src/**/*.ts', 'action-*/src/**/*.ts', 'cli/src/**/*.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'coverage/**', 'examples/**/result*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: SHIPPED_CODE, ignores: ['src/runner/**', 'src/util/exec.ts'], rules: restrictImports(SPAWN_THROUGH_EXEC, CORE_THROUGH_RUNNER) },
  { files: ['src/runner/**/*.ts'], rules: restrictImports(SPAWN_THROUGH_EXEC) },
  { files: ['src/util/exec.ts'], rules: restrictImports(CORE_THROUGH_RUNNER) },
);
