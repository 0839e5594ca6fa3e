import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { acknowledge } from './nag';

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
          prefix: 'bronze/events/',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(config.bronzeInfrequentAccessDays) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(config.bronzeGlacierDays) },
          ],
          expiration: Duration.days(config.bronzeExpirationDays),
        },
        { id: 'bronze-quarantine-expiry', prefix: 'bronze/_quarantine/', expiration: Duration.days(config.quarantineExpirationDays) },
        { id: 'old-versions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }
}
