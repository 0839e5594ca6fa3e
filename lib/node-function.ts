import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { acknowledge } from './nag';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface PipelineFunctionProps extends Omit<NodejsFunctionProps, 'entry'> {
  /** Handler file relative to the project root, e.g. `lambdas/consumer/index.ts`. */
  entry: string;
  serviceName: string;
  metricsNamespace: string;
  logRetentionDays: number;
}

/**
 * The defaults every function of the pipeline shares: Node.js 24 (the latest Lambda runtime) on arm64, an ESM bundle built locally by
 * esbuild (no Docker), X-Ray tracing, JSON logs to a log group with bounded retention, Powertools settings.
 */
export class PipelineFunction extends NodejsFunction {
  /** The handler file relative to the project root (`lambdas/…`): the deploy checks map recorded calls to this function by it. */
  readonly handlerFile: string;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const { entry, serviceName, metricsNamespace, logRetentionDays, environment, bundling, ...rest } = props;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logRetentionDays as logs.RetentionDays });
    // Its own role instead of AWSLambdaBasicExecutionRole: write to this function's log group only.
    const role = new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: join(PROJECT_ROOT, entry),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(60),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Some dependencies are CommonJS and call require(): give the ESM bundle one.
        banner: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);",
        // Bundle the SDK rather than take the runtime's copy: the versions we test are the versions we ship.
        externalModules: [],
        ...bundling,
      },
      ...rest,
    });
    this.handlerFile = entry;
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords take no resource: tracing needs Resource "*"');
  }
}
