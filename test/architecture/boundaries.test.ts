import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkBoundaries, importsOf, readSourceFiles, type SourceFile } from './import-boundaries';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('layer boundaries', () => {
  it('hold for every file under src/ and lambdas/', () => {
    const files = readSourceFiles(root, ['src', 'lambdas']);
    expect(files.length).toBeGreaterThan(50);
    expect(checkBoundaries(files).map((v) => v.message)).toEqual([]);
  });
});

describe('the boundary checker', () => {
  it('reads every kind of import', () => {
    const source = `
      import { a } from './static';
      import type { B } from "./type-only";
      import {
        c,
        type D,
      } from './multi-line';
      import './side-effect';
      export { e } from './re-export';
      export type * from './re-export-type';
      import f = require('./import-equals');
      const g = await import('./dynamic');
      const h = require('./required');
      let i: import('./type-query').I;
      // import { no } from './in-a-comment';
      /* const no = require('./in-a-block-comment'); */
      const s = "import { no } from './in-a-string'";
      const t = \`\${\`nested \${"}"}\`} import('./in-a-template')\`;
      const r = /import\\('.\\/in-a-regex'\\)|["']/g;
      const late = await import('./after-the-template');
    `;
    expect(importsOf({ path: 'src/x.ts', source })).toEqual([
      './static', './type-only', './multi-line', './side-effect', './re-export', './re-export-type',
      './import-equals', './dynamic', './required', './type-query', './after-the-template',
    ]);
  });

  it('reads the imports after a shebang', () => {
    expect(importsOf({ path: 'src/cli/main.ts', source: "#!/usr/bin/env node\nimport { runCli } from './program';\n" })).toEqual(['./program']);
  });

  it('reports each kind of violation, naming the file and the import', () => {
    const files: SourceFile[] = [
      { path: 'src/serving/direct.ts', source: "import { PutRecordsCommand } from '@aws-sdk/client-kinesis';" },
      { path: 'src/ops/dynamic.ts', source: "const { SQSClient } = await import('@aws-sdk/client-sqs');" },
      { path: 'lambdas/api/index.ts', source: "const { NodeHttpHandler } = require('@smithy/node-http-handler');" },
      { path: 'src/retraining/runner.ts', source: "import { localLambdaContext } from '../local/lambda-context';" },
      { path: 'src/cli/types.ts', source: "export type { RunEvent } from '../local/retraining-runner';" },
      { path: 'src/domain/events.ts', source: "import { createS3Client } from '../adapters/aws-clients';" },
      { path: 'src/recommender/train.ts', source: "import { handler } from '../../lambdas/api/index';" },
      { path: 'src/domain/features.ts', source: "import type { S3Client } from '@aws-sdk/client-s3';" },
      { path: 'lambdas/consumer/index.ts', source: "import { startEmulators } from '../../src/local/emulators';" },
    ];
    const found = checkBoundaries(files).map((v) => [v.rule, v.file, v.specifier]);
    expect(found).toEqual([
      ['aws-sdk-outside-adapters', 'src/serving/direct.ts', '@aws-sdk/client-kinesis'],
      ['aws-sdk-outside-adapters', 'src/ops/dynamic.ts', '@aws-sdk/client-sqs'],
      ['aws-sdk-outside-adapters', 'lambdas/api/index.ts', '@smithy/node-http-handler'],
      ['local-imported-outside-local', 'src/retraining/runner.ts', '../local/lambda-context'],
      ['local-imported-outside-local', 'src/cli/types.ts', '../local/retraining-runner'],
      ['core-imports-infrastructure', 'src/domain/events.ts', '../adapters/aws-clients'],
      ['core-imports-infrastructure', 'src/recommender/train.ts', '../../lambdas/api/index'],
      ['aws-sdk-outside-adapters', 'src/domain/features.ts', '@aws-sdk/client-s3'],
      ['core-imports-infrastructure', 'src/domain/features.ts', '@aws-sdk/client-s3'],
      ['local-imported-outside-local', 'lambdas/consumer/index.ts', '../../src/local/emulators'],
    ]);
    expect(checkBoundaries(files)[0]!.message).toBe("src/serving/direct.ts imports '@aws-sdk/client-kinesis': only src/adapters/ may import the AWS SDK");
  });

  it('lets the allowed imports through', () => {
    const files: SourceFile[] = [
      { path: 'src/adapters/s3-lake.ts', source: "import { S3Client } from '@aws-sdk/client-s3';" },
      { path: 'src/local/pipeline.ts', source: "import { startEmulators } from './emulators'; import { ScanCommand } from '../adapters/dynamo-key-scan';" },
      { path: 'src/serving/read-api.ts', source: "import type { KinesisClient } from '../adapters/aws-clients'; import { z } from 'zod';" },
      { path: 'src/domain/events.ts', source: "import { z } from 'zod'; import { money } from './money';" },
      { path: 'bench/ingest.ts', source: "import { KinesisClient } from '@aws-sdk/client-kinesis'; import { x } from '../src/local/emulators';" },
      { path: 'lambdas/consumer/index.ts', source: "import { toStreamRecord } from '../../src/adapters/kinesis-records';" },
      { path: 'src/localisation/format.ts', source: "import { x } from '../localisation/strings';" },
    ];
    expect(checkBoundaries(files)).toEqual([]);
  });
});
