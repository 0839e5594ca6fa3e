import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Emulator-backed suites start their own servers on free ports; keep workers to the 2 CI cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['./test/setup.ts', './test/support/record-aws-calls.setup.ts'],
    // Clears what the last run recorded of the handlers' AWS calls (checked by `npm run test:iam`).
    globalSetup: ['./test/support/aws-calls.global.ts'],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
