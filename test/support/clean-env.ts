/** Names an embedded pipeline sets for itself; a value left by another suite would point it elsewhere. */
const PIPELINE_VARIABLES = ['LAKE_BUCKET', 'FEATURES_TABLE', 'EVENTS_STREAM', 'ANALYTICS_TABLE', 'CATALOG_TABLE', 'API_BASE_URL'];

/** Removes endpoint overrides and resource names from the environment, so a pipeline starts its own emulators. */
export function clearPipelineEnvironment(): void {
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_ENDPOINT_URL') || PIPELINE_VARIABLES.includes(k)) delete process.env[k];
}
