import type { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { ServingLog } from './http';

/** Powertools' structured logger behind the serving code's small logging interface. */
export function servingLog(logger: Logger): ServingLog {
  const attrs = (extra?: Record<string, unknown>) => (extra ?? {}) as LogAttributes;
  return {
    info: (message, extra) => logger.info(message, attrs(extra)),
    warn: (message, extra) => logger.warn(message, attrs(extra)),
    error: (message, extra) => logger.error(message, attrs(extra)),
  };
}
