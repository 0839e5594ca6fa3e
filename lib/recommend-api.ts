import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MODELS_PREFIX } from '../src/domain/lake-layout';
import { ROUTES, type ApiFunctionName } from '../src/serving/routes';
import type { RecsysConfig } from './config';
import { grantLakeAccess } from './data-lake';
import { acknowledge } from './nag';
import { PipelineFunction } from './node-function';

export interface RecommendApiProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
  table: dynamodb.ITable;
  stream: kinesis.IStream;
  metricsNamespace: string;
  /** The shop analytics window table, when analytics runs: the /analytics routes read it. */
  analyticsTable?: dynamodb.ITable;
}

/**
 * The user-facing API: an API Gateway REST API (LocalStack's free tier serves REST APIs only) in front of
 * two functions — `read` (recommendations, items, features, health, reload; holds the model in memory)
 * and `events` (POST /events onto Kinesis). Resources and methods come from the route table in
 * src/serving/routes.ts, the same one the handlers and the local server dispatch with.
 *
 * Stage throttling, JSON access logs, CORS, X-Ray; `POST /admin/reload` is IAM-authorised. Every other
 * method on a known resource and every unknown path reach the read function, so clients get the API's
 * own 404/405 JSON instead of API Gateway's 403 "Missing Authentication Token".
 */
export class RecommendApi extends Construct {
  readonly api: apigw.RestApi;
  readonly readFunction: PipelineFunction;
  readonly eventsFunction: PipelineFunction;
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
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: [...apigw.Cors.DEFAULT_HEADERS, 'Accept'],
        maxAge: Duration.minutes(10),
      },
    });
    acknowledge(this.api, 'AwsSolutions-APIG4', 'The recommendation, item, feature, analytics and events routes are the public API of the shop, as Personalize runtime calls are for an app; the only admin route, POST /admin/reload, uses IAM (SigV4) authorization');
    acknowledge(this.api, 'AwsSolutions-COG4', 'No end-user identities here: public routes are open by design, the admin route is IAM-authorised rather than Cognito');
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
}
