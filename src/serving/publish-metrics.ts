import type { MiddlewareObj } from '@middy/core';
import type { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Flushes the function's EMF metrics after each invocation, like Powertools' `logMetrics`, but only when
 * there is something to flush. The local server runs many invocations of one handler concurrently (Lambda
 * never does); with a shared Metrics buffer one flush then carries several requests' metrics and the
 * others would warn "No application metrics to publish" for every request.
 */
export function publishMetrics(metrics: Metrics): MiddlewareObj {
  let coldStart = true;
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: (request) => {
      if (coldStart) {
        coldStart = false;
        metrics.captureColdStartMetric(request.context.functionName);
      }
    },
    after: flush,
    onError: flush,
  };
}
