/** CloudWatch metrics namespace of the whole pipeline (EMF, written by Powertools). No imports: the CDK app reads it too. */
export const METRICS_NAMESPACE = 'ServerlessRecsys';
