import { defineConfig } from 'vitest/config';

/**
 * `npm run test:iam`: evaluates the AWS calls the last complete `vitest run` recorded against the IAM
 * policies of the synthesised stack (test/deploy/iam.check.ts). It records nothing itself.
 */
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.check.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['./test/setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
