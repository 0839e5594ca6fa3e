import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BRONZE_EVENTS_PREFIX, BRONZE_QUARANTINE_PREFIX, SILVER_BATCH_PREFIX } from '../src/domain/lake-layout';
import type { RecsysConfig } from './config';
import { acknowledge, arnToken } from './nag';

/** What a function may do in the lake, by object-key pattern (e.g. `bronze/*`). */
export interface LakeAccess {
  /** s3:GetObject on these keys. */
  read?: readonly string[];
  put?: readonly string[];
  delete?: readonly string[];
}

/**
 * Grants exactly the S3 actions the lake adapters call (GetObject, PutObject, DeleteObject on the given key
 * patterns), instead of CDK's grant groups (GetObject*, GetBucket*, List*, Abort*, PutObjectLegalHold, …),
 * which no code here uses. A reader also gets s3:ListBucket on the bucket: the steps list their prefixes, and
 * a read of a missing key (no production pointer yet, no catalogue) answers 404 only to a caller allowed
 * s3:ListBucket, 403 AccessDenied to any other (GetObject API reference, "Permissions"). `npm run test:iam`
 * checks every recorded call against these grants and fails on any grant no call needs.
 */
export function grantLakeAccess(bucket: s3.IBucket, grantee: iam.IGrantable & { role?: iam.IRole }, access: LakeAccess): void {
  const add = (actions: string[], patterns: readonly string[] | undefined) => {
    if (patterns?.length) grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: patterns.map((p) => bucket.arnForObjects(p)) }));
  };
  add(['s3:GetObject'], access.read);
  add(['s3:PutObject'], access.put);
  add(['s3:DeleteObject'], access.delete);
  if (access.read?.length) grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  const patterns = [...new Set([...(access.read ?? []), ...(access.put ?? []), ...(access.delete ?? [])])];
  const reason = `S3 access is limited to the lake objects ${patterns.join(', ')}`;
  for (const pattern of patterns) if (pattern.includes('*') && grantee.role) acknowledge(grantee.role, `AwsSolutions-IAM5[Resource::${arnToken(bucket)}/${pattern}]`, reason);
}

/**
 * The S3 data lake: Bronze (raw JSON lines), Silver (Parquet), models. Private, encrypted, TLS only;
 * Bronze ages into cheaper storage classes and expires; quarantine expires sooner.
 */
export class DataLake extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, config: RecsysConfig) {
    super(scope, id);
    // Server access logs of the lake: who read or wrote what, kept a year.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      autoDeleteObjects: config.destroyOnRemoval,
      lifecycleRules: [{ id: 'access-log-expiry', expiration: Duration.days(365) }],
    });
    acknowledge(this.accessLogs, 'AwsSolutions-S1', 'This is the access-log bucket; logging it into itself would loop');
    this.bucket = new s3.Bucket(this, 'Bucket', {
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'lake/',
      bucketName: config.lakeBucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioning keeps every model pointer and artifact recoverable.
      versioned: true,
      removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      autoDeleteObjects: config.destroyOnRemoval,
      lifecycleRules: [
        {
          id: 'bronze-events-tiering',
          prefix: BRONZE_EVENTS_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(config.bronzeInfrequentAccessDays) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(config.bronzeGlacierDays) },
          ],
          expiration: Duration.days(config.bronzeExpirationDays),
        },
        { id: 'bronze-quarantine-expiry', prefix: BRONZE_QUARANTINE_PREFIX, expiration: Duration.days(config.quarantineExpirationDays) },
        // A run's batch outputs are read within the run only (a rerun rewrites its own): kept a few days for inspection.
        { id: 'batch-outputs-expiry', prefix: SILVER_BATCH_PREFIX, expiration: Duration.days(config.batchOutputExpirationDays) },
        { id: 'old-versions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }
}
