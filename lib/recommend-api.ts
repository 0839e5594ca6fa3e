import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ERASURE_REQUESTS_PREFIX, EXPERIMENTS_PREFIX, MODELS_PREFIX, PRODUCTION_POINTER_KEY } from '../src/domain/lake-layout';
import { ROUTES, type ApiFunctionName } from '../src/serving/routes';
import type { RecsysConfig } from './config';
import { grantLakeAccess } from './data-lake';
import { CATALOG_FEED_INDEX } from './item-catalogue';
import { acknowledge } from './nag';
import { PipelineFunction } from './node-function';

/**
 * What the catalogue function may do to the catalogue table: exactly the calls src/adapters/dynamo-catalog.ts
 * makes (PutRequests in BatchWriteItem, the conditional withdraw).
 */
export const CATALOG_WRITE_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'];

/** Lambda's bound on a function's environment: all keys and values together (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). */
export const LAMBDA_ENVIRONMENT_BYTES = 4096;
/**
 * What a name CloudFormation generates at deploy time (a table, bucket or stream name: stack name, logical ID
 * prefix and a random suffix) is counted as when the environment is measured at synth.
 */
const GENERATED_NAME_BYTES = 128;

/**
 * The size Lambda counts for a function's environment, keys and values, as far as synth knows it: values
 * CloudFormation fills in at deploy time count as GENERATED_NAME_BYTES each.
 */
export function environmentBytes(fn: lambda.Function): number {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const resolved = Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  let bytes = 0;
  for (const [key, value] of Object.entries(resolved?.variables ?? {})) {
    bytes += Buffer.byteLength(key, 'utf8');
    bytes += typeof value === 'string' && !Token.isUnresolved(value) ? Buffer.byteLength(value, 'utf8') : GENERATED_NAME_BYTES;
  }
  return bytes;
}

export interface RecommendApiProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
  table: dynamodb.ITable;
  stream: kinesis.IStream;
  metricsNamespace: string;
  /** The shop analytics window table, when analytics runs: the /analytics routes and GET /admin/experiment read it. */
  analyticsTable?: dynamodb.ITable;
  /** The live item catalogue (lib/item-catalogue.ts): the catalogue routes write it, the read function follows it. */
  catalogTable: dynamodb.ITable;
}

/**
 * The user-facing API: an API Gateway REST API (LocalStack's free tier serves REST APIs only) in front of
 * four functions — `read` (recommendations, items, features, health, reload; holds the model, an experiment's
 * challenger and a replica of the catalogue in memory), `events` (POST /events onto Kinesis), `catalog` (PUT
 * /items, DELETE /items/{itemId} into the catalogue table) and `admin` (experiment control on the production
 * pointer, user erasure). Resources and methods come from the route table in
 * src/serving/routes.ts, the same one the handlers and the local server dispatch with.
 *
 * Stage throttling, JSON access logs, CORS, X-Ray; `POST /admin/reload`, the catalogue writes and the admin routes
 * are IAM-authorised (SigV4, `execute-api:Invoke`: see grantReload, grantCatalogWrite, grantExperimentControl and
 * grantUserErasure, each granting its routes only). Every other method on a known resource and every unknown path reach the read function, so clients get the API's
 * own 404/405 JSON instead of API Gateway's 403 "Missing Authentication Token".
 */
export class RecommendApi extends Construct {
  readonly api: apigw.RestApi;
  readonly readFunction: PipelineFunction;
  readonly eventsFunction: PipelineFunction;
  readonly catalogFunction: PipelineFunction;
  /**
   * Experiment control (`/admin/experiment…`): rewrites the production pointer and writes the experiment log; user
   * erasure (`DELETE /admin/users/{userId}`): deletes the user's feature and analytics rows, records the request.
   */
  readonly adminFunction: PipelineFunction;
  readonly accessLogs: logs.LogGroup;
  /** Base URL of the deployed stage, ending in `/`. */
  readonly apiUrl: string;
  /** 5xx and p99 latency alarms; the monitoring construct sends them to the operations topic. */
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RecommendApiProps) {
    super(scope, id);
    const { config } = props;

    this.readFunction = new PipelineFunction(this, 'ReadFunction', {
      entry: 'lambdas/api/index.ts',
      description: 'Recommend API: recommendations, items, user features, model health and reload',
      serviceName: 'recommend-api',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: config.apiMemorySize,
      timeout: Duration.seconds(10),
      environment: {
        LAKE_BUCKET: props.bucket.bucketName,
        FEATURES_TABLE: props.table.tableName,
        MODEL_REFRESH_SECONDS: String(config.modelRefreshSeconds),
        FRESH_EVENTS_TIMEOUT_MS: String(config.freshEventsTimeoutMs),
        FRESH_EVENTS_CACHE_MS: String(config.freshEventsCacheMs),
        CORS_ALLOW_ORIGIN: config.apiCorsAllowOrigins,
        ...(props.analyticsTable ? { ANALYTICS_TABLE: props.analyticsTable.tableName } : {}),
        CATALOG_TABLE: props.catalogTable.tableName,
        CATALOG_REFRESH_MS: String(config.catalogRefreshMs),
        COLD_START_STRATEGY: config.coldStartStrategy,
        // Validated at synth (lib/config.ts readRulesFile): a broken filter never reaches a deployed function.
        ...(config.rulesJson !== undefined ? { RULES_JSON: config.rulesJson } : {}),
      },
    });
    // The rules ride in the environment: refuse at synth what Lambda would refuse at deploy (after every
    // variable is set, the event contract's included).
    this.readFunction.node.addValidation({
      validate: () => {
        const bytes = environmentBytes(this.readFunction);
        if (bytes <= LAMBDA_ENVIRONMENT_BYTES) return [];
        const rules = config.rulesJson === undefined ? '' : `; RULES_JSON (rulesFile ${config.rulesFile ?? ''}) alone is ${Buffer.byteLength(config.rulesJson, 'utf8')} bytes: shorten its descriptions or filters`;
        return [`the read function's environment is about ${bytes} bytes, more than the ${LAMBDA_ENVIRONMENT_BYTES} Lambda allows${rules}`];
      },
    });
    // Least privilege: read model artifacts and the pointer only; read feature rows only.
    grantLakeAccess(props.bucket, this.readFunction, { read: [`${MODELS_PREFIX}*`] });
    this.readFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:BatchGetItem'], resources: [props.table.tableArn] }),
    );
    if (props.analyticsTable) {
      this.readFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [props.analyticsTable.tableArn] }));
    }
    // The catalogue replica: a Scan of the table on a cold start, then Queries of the change-feed index only.
    this.readFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [props.catalogTable.tableArn] }));
    this.readFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.catalogTable.tableArn}/index/${CATALOG_FEED_INDEX}`] }),
    );

    this.eventsFunction = new PipelineFunction(this, 'EventsFunction', {
      entry: 'lambdas/events-api/index.ts',
      description: 'Recommend API: validates POST /events and puts them on the Kinesis stream',
      serviceName: 'events-api',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 512,
      timeout: Duration.seconds(10),
      environment: {
        EVENTS_STREAM: props.stream.streamName,
        CORS_ALLOW_ORIGIN: config.apiCorsAllowOrigins,
      },
    });
    this.eventsFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['kinesis:PutRecords'], resources: [props.stream.streamArn] }));

    this.catalogFunction = new PipelineFunction(this, 'CatalogFunction', {
      entry: 'lambdas/catalog-api/index.ts',
      description: 'Catalogue API: validates PUT /items and DELETE /items/{itemId} and writes the catalogue table',
      serviceName: 'catalog-api',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 512,
      // 500 items are 20 BatchWriteItem calls, each retried with backoff: within API Gateway's 29 s.
      timeout: Duration.seconds(25),
      environment: {
        CATALOG_TABLE: props.catalogTable.tableName,
        CORS_ALLOW_ORIGIN: config.apiCorsAllowOrigins,
      },
    });
    // Least privilege: the writes src/adapters/dynamo-catalog.ts makes (batch puts, the conditional withdraw), on the table only.
    this.catalogFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: CATALOG_WRITE_ACTIONS, resources: [props.catalogTable.tableArn] }),
    );

    this.adminFunction = new PipelineFunction(this, 'AdminFunction', {
      entry: 'lambdas/admin-api/index.ts',
      description: 'Admin API: experiment control (GET /admin/experiment, POST /admin/experiment/{start|promote|stop}) and user erasure (DELETE /admin/users/{userId})',
      serviceName: 'admin-api',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      // hasArtifact reads a version's manifest and payload: room for a model payload.
      memorySize: 1024,
      timeout: Duration.seconds(25),
      environment: {
        LAKE_BUCKET: props.bucket.bucketName,
        MODEL_REFRESH_SECONDS: String(config.modelRefreshSeconds),
        CORS_ALLOW_ORIGIN: config.apiCorsAllowOrigins,
        // GET /admin/experiment reports the running experiment's attribution from the analytics windows.
        ...(props.analyticsTable ? { ANALYTICS_TABLE: props.analyticsTable.tableName } : {}),
        // DELETE /admin/users/{userId} removes the user's rows (U#<userId>) from the feature table.
        FEATURES_TABLE: props.table.tableName,
      },
    });
    // Least privilege: read the pointer and the versions' artifacts (hasArtifact), write only the pointer, the experiment log
    // and the erasure requests (the nightly EraseUsers step finishes those in the lake and models).
    grantLakeAccess(props.bucket, this.adminFunction, { read: [`${MODELS_PREFIX}*`], put: [PRODUCTION_POINTER_KEY, `${EXPERIMENTS_PREFIX}*`, `${ERASURE_REQUESTS_PREFIX}*`] });
    // DELETE /admin/users/{userId}: one Query on the user's partition and batch deletes of what it finds, per table.
    this.adminFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [props.table.tableArn] }));
    // The attribution reader queries window rows by partition (as the experiment check does), no scan; the only write
    // is the erasure's batch delete of the user's implicit attribution rows (IMP#<userId>).
    if (props.analyticsTable) {
      this.adminFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [props.analyticsTable.tableArn] }));
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: config.logRetentionDays as logs.RetentionDays });
    const origins = config.apiCorsAllowOrigins.split(',').map((o) => o.trim()).filter(Boolean);
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${config.namePrefix}-recommend-api`,
      description: 'Recommendations served from the production model, fresh events counted',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: config.apiCloudWatchRole,
      deployOptions: {
        stageName: config.apiStageName,
        throttlingRateLimit: config.apiThrottlingRateLimit,
        throttlingBurstLimit: config.apiThrottlingBurstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        metricsEnabled: true,
        tracingEnabled: true,
        ...(config.apiCloudWatchRole ? { loggingLevel: apigw.MethodLoggingLevel.ERROR } : {}),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: origins.includes('*') ? apigw.Cors.ALL_ORIGINS : origins,
        allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
        allowHeaders: [...apigw.Cors.DEFAULT_HEADERS, 'Accept'],
        maxAge: Duration.minutes(10),
      },
    });
    acknowledge(this.api, 'AwsSolutions-APIG4', 'The recommendation, ranking, item, feature, analytics and events routes are the public API of the shop, as Personalize runtime calls are for an app; the writes of the shop back office, PUT /items and DELETE /items/{itemId} (the catalogue), and the admin routes POST /admin/reload, /admin/experiment… and DELETE /admin/users/{userId} use IAM (SigV4) authorization');
    acknowledge(this.api, 'AwsSolutions-COG4', 'No end-user identities here: public routes are open by design; the catalogue writes (PUT /items, DELETE /items/{itemId}) and the admin route are called by the shop back office and operators, IAM-authorised rather than Cognito');
    acknowledge(this.api, 'AwsSolutions-APIG2', 'Every request is validated in the handler with the shared event schema and parameter parsers, which answer 400 naming the field (and 413 for oversized batches, which a gateway validator would turn into 400)');
    acknowledge(this.api, 'AwsSolutions-APIG3', 'AWS WAF is an optional, paid layer: stage throttling (apiThrottlingRateLimit/BurstLimit) bounds abuse by default; attach a web ACL to the stage where required');
    acknowledge(this.api, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', "API Gateway's account-level CloudWatch role needs the AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy to write access logs (apiCloudWatchRole=false skips it)");
    if (!config.apiCloudWatchRole) {
      acknowledge(this.api, 'AwsSolutions-APIG6', 'apiCloudWatchRole=false: execution logging needs the account-level API Gateway CloudWatch role, which this account manages elsewhere; access logs are still written to the stage log group');
    }
    this.apiUrl = this.api.url;

    // One resource-policy statement per function rather than one per method.
    const integrations: Record<ApiFunctionName, apigw.LambdaIntegration> = {
      read: new apigw.LambdaIntegration(this.readFunction, { proxy: true, scopePermissionToMethod: false }),
      events: new apigw.LambdaIntegration(this.eventsFunction, { proxy: true, scopePermissionToMethod: false }),
      catalog: new apigw.LambdaIntegration(this.catalogFunction, { proxy: true, scopePermissionToMethod: false }),
      admin: new apigw.LambdaIntegration(this.adminFunction, { proxy: true, scopePermissionToMethod: false }),
    };
    const validator = this.api.addRequestValidator('ParameterValidator', { validateRequestParameters: true });

    const resources = new Set<apigw.IResource>();
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      for (let r: apigw.IResource | undefined = resource; r && r !== this.api.root; r = r.parentResource) resources.add(r);
      const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      resource.addMethod(route.method, integrations[route.function], {
        operationName: route.id,
        authorizationType: route.auth === 'iam' ? apigw.AuthorizationType.IAM : apigw.AuthorizationType.NONE,
        ...(pathParams.length > 0
          ? { requestParameters: Object.fromEntries(pathParams.map((p) => [`method.request.path.${p}`, true])), requestValidator: validator }
          : {}),
      });
    }
    // Wrong methods on known resources and unknown paths: the read function answers 405/404 in the API's format.
    for (const resource of resources) resource.addMethod('ANY', integrations.read);
    this.api.root.addMethod('ANY', integrations.read);
    this.api.root.addProxy({ defaultIntegration: integrations.read, anyMethod: true });

    // Errors API Gateway produces itself (throttling, IAM, payload size) in the same JSON shape.
    const cors = { 'Access-Control-Allow-Origin': origins.includes('*') ? "'*'" : `'${origins[0] ?? ''}'` };
    const template = (code: string) => ({
      'application/json': `{"error":{"code":"${code}","message":$context.error.messageString}}`,
    });
    this.api.addGatewayResponse('Throttled', { type: apigw.ResponseType.THROTTLED, statusCode: '429', responseHeaders: cors, templates: template('THROTTLED') });
    this.api.addGatewayResponse('AccessDenied', { type: apigw.ResponseType.ACCESS_DENIED, statusCode: '403', responseHeaders: cors, templates: template('FORBIDDEN') });
    this.api.addGatewayResponse('MissingAuth', { type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '403', responseHeaders: cors, templates: template('FORBIDDEN') });
    this.api.addGatewayResponse('TooLarge', { type: apigw.ResponseType.REQUEST_TOO_LARGE, statusCode: '413', responseHeaders: cors, templates: template('PAYLOAD_TOO_LARGE') });
    this.api.addGatewayResponse('BadParameters', { type: apigw.ResponseType.BAD_REQUEST_PARAMETERS, statusCode: '400', responseHeaders: cors, templates: template('INVALID_PARAMETER') });
    this.api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders: cors, templates: template('CLIENT_ERROR') });
    this.api.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, responseHeaders: cors, templates: template('GATEWAY_ERROR') });

    this.alarms.push(new cloudwatch.Alarm(this, 'ServerErrorsAlarm', {
      alarmDescription: 'The recommend API answered 5xx: every bad input should be a 4xx, so this is a bug or an outage',
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.alarms.push(new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmDescription: 'Recommend API p99 latency above 1 s for 15 minutes',
      metric: this.api.metricLatency({ period: Duration.minutes(5), statistic: 'p99' }),
      threshold: 1000,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
  }

  /** The execute-api ARN of `POST /admin/reload` on the deployed stage. */
  get reloadArn(): string {
    return this.api.arnForExecuteApi('POST', '/admin/reload', this.api.deploymentStage.stageName);
  }

  /** Lets a principal (e.g. the retraining job's ReloadApi step) call `POST /admin/reload` with SigV4. */
  grantReload(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.reloadArn] });
  }

  /**
   * The execute-api ARNs of the catalogue writes on the deployed stage, one per IAM-authorised catalogue
   * route of the route table (`PUT /items`, `DELETE /items/*`): nothing else of the API.
   */
  get catalogWriteArns(): string[] {
    return ROUTES.filter((r) => r.function === 'catalog').map((r) =>
      this.api.arnForExecuteApi(r.method, r.path.replace(/\{\w+\}/g, '*'), this.api.deploymentStage.stageName),
    );
  }

  /**
   * The execute-api ARNs of the experiment control routes (`GET /admin/experiment`, `POST /admin/experiment/*`):
   * the admin function's routes except the user erasure, which deletes data and is granted on its own (userErasureArns).
   */
  get experimentControlArns(): string[] {
    return ROUTES.filter((r) => r.function === 'admin' && r.id !== 'eraseUser').map((r) =>
      this.api.arnForExecuteApi(r.method, r.path.replace(/\{\w+\}/g, '*'), this.api.deploymentStage.stageName),
    );
  }

  /**
   * Lets a principal (an operator role) call the experiment control routes with SigV4. Not `DELETE /admin/users/*`:
   * running experiments does not entitle anyone to erase users (see grantUserErasure).
   */
  grantExperimentControl(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.experimentControlArns });
  }

  /** The execute-api ARN of the user erasure route (`DELETE /admin/users/*`) on the deployed stage: nothing else of the API. */
  get userErasureArns(): string[] {
    return ROUTES.filter((r) => r.id === 'eraseUser').map((r) =>
      this.api.arnForExecuteApi(r.method, r.path.replace(/\{\w+\}/g, '*'), this.api.deploymentStage.stageName),
    );
  }

  /**
   * Lets a principal (the shop's privacy back office, a data-protection operator) call `DELETE /admin/users/{userId}`
   * with SigV4, and only that: it erases a user's feature and analytics rows at once and the lake and models nightly.
   */
  grantUserErasure(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.userErasureArns });
  }

  /** Lets a principal (the shop's back office, an import job) call the catalogue writes with SigV4. */
  grantCatalogWrite(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.catalogWriteArns });
  }
}
