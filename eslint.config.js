import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // What git ignores (.gitignore) is not linted either: builds, state, benchmark scratch.
    ignores: [
      'node_modules/**',
      'dist/**',
      '.kiln/**',
      'schema/**',
      'test/fixtures/**',
      'bench/.tmp/**',
      'test/.tmp/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
