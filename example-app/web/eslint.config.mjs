// @ts-check
// ESLint over the web app's TypeScript and templates, hand-written and
// generated alike (angular-eslint's recommended, accessibility included).
import eslint from '@eslint/js';
import angular from 'angular-eslint';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', '.angular/**', 'node_modules/**', '.fixture-typecheck/**', 'e2e-artifacts/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [
      eslint.configs.recommended,
      ...tseslint.configs.recommended,
      ...tseslint.configs.stylistic,
      ...angular.configs.tsRecommended,
    ],
    processor: angular.processInlineTemplates,
    rules: {
      // An overridable hook's unused parameters start with `_`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@angular-eslint/component-selector': ['error', { type: 'element', prefix: ['app', 'aegis'], style: 'kebab-case' }],
      '@angular-eslint/directive-selector': ['error', { type: 'attribute', prefix: ['app', 'aegis'], style: 'camelCase' }],
      // A function a reader can hold (the Rust side: `cargo xtask layout`).
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  {
    // Tests aside: a spec's `describe` holds its cases.
    files: ['**/*.spec.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    files: ['**/*.html'],
    extends: [...angular.configs.templateRecommended, ...angular.configs.templateAccessibility],
  },
);
