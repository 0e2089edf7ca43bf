// ESLint flat config: @eslint/js and typescript-eslint recommended rules on the TypeScript
// and JavaScript sources (issue 15.4). Formatting is Prettier's job (.prettierrc.json), not ESLint's.
// Not type-aware: recommendedTypeChecked took ~35 s instead of ~5 s on the 2-core machine for every
// `npm test`; tsc already type-checks src, tests and benches.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'models/.cache/', 'reports/', 'datasets/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // tests mutate fixtures field by field (gt: any); the sources have no `any`
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
