import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../support/cfn-template';
import {
  COMMUNITY_CFN_RESOURCE_TYPES,
  COMMUNITY_GAPS,
  COMMUNITY_IMAGE,
  COMMUNITY_SERVICES,
  LOCALSTACK_COVERAGE_SOURCE,
  PAID_ONLY_EXAMPLES,
  communityGap,
  localStackType,
} from '../support/localstack-coverage';
import { synthStack } from '../support/synth';

/**
 * LocalStack readiness: what `npm run deploy:localstack` deploys must be something LocalStack's free (community)
 * edition runs, per test/support/localstack-coverage.ts (LocalStack's own sources, checked without Docker).
 */

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** The variants a user deploys: the deploy:localstack one (destroyOnRemoval) first. */
const VARIANTS: Record<string, Record<string, unknown>> = {
  'deploy:localstack (-c destroyOnRemoval=true)': { destroyOnRemoval: true },
  default: {},
  'analyticsEnabled=false': { analyticsEnabled: false },
  'alarm and retraining e-mails': { alarmEmail: 'ops@example.com', retrainNotificationEmail: 'ml@example.com' },
  'on-demand stream, schedule disabled': { streamShards: 0, retrainScheduleEnabled: false },
};

const COMMUNITY = new Set(COMMUNITY_CFN_RESOURCE_TYPES);

/** Resource types of a template, with how many resources of each. */
function resourceTypes(template: CfnTemplate): Map<string, number> {
  const types = new Map<string, number>();
  for (const r of Object.values(template.Resources)) types.set(r.Type, (types.get(r.Type) ?? 0) + 1);
  return types;
}

/** A type is ready when the community edition has a provider for it, or its gap is documented with its consequence. */
function readiness(type: string): 'supported' | 'documented-gap' | 'unsupported' {
  const gap = communityGap(type);
  if (COMMUNITY.has(localStackType(type)) && (!gap || gap.consequence !== 'skipped')) return 'supported';
  return gap ? 'documented-gap' : 'unsupported';
}

/** The template's types that LocalStack community neither serves nor is documented not to. */
function unsupportedTypes(template: CfnTemplate): string[] {
  return [...resourceTypes(template).keys()].filter((t) => readiness(t) === 'unsupported').sort();
}

/** Throws, naming every unsupported type and its logical IDs, if the template is not ready for LocalStack community. */
function assertLocalStackReady(template: CfnTemplate, variant: string): void {
  const bad = unsupportedTypes(template);
  if (bad.length === 0) return;
  const where = bad.map((t) => `${t} (${Object.entries(template.Resources).filter(([, r]) => r.Type === t).map(([id]) => id).join(', ')})`);
  throw new Error(
    `${variant}: resource types LocalStack community (${LOCALSTACK_COVERAGE_SOURCE.tag}) does not support and test/support/localstack-coverage.ts does not document: ${where.join('; ')}`,
  );
}

const templates = new Map<string, CfnTemplate>();
beforeAll(() => {
  for (const [name, context] of Object.entries(VARIANTS)) templates.set(name, synthStack(context).template.toJSON() as CfnTemplate);
});
const template = (name: string): CfnTemplate => {
  const t = templates.get(name);
  if (!t) throw new Error(`variant ${name} was not synthesised`);
  return t;
};

describe('the coverage data', () => {
  it('records its source and the date it was checked', () => {
    expect(LOCALSTACK_COVERAGE_SOURCE.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(LOCALSTACK_COVERAGE_SOURCE.repository).toBe('https://github.com/localstack/localstack');
    expect(LOCALSTACK_COVERAGE_SOURCE.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('is a list of CloudFormation type names without duplicates', () => {
    expect(COMMUNITY_CFN_RESOURCE_TYPES.length).toBe(102);
    expect(COMMUNITY.size).toBe(COMMUNITY_CFN_RESOURCE_TYPES.length);
    for (const t of COMMUNITY_CFN_RESOURCE_TYPES) expect(t).toMatch(/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/);
  });

  it('does not list the paid-only examples (HTTP APIs, Pipes, ...) as community', () => {
    for (const t of PAID_ONLY_EXAMPLES) expect(COMMUNITY.has(t), t).toBe(false);
    expect(COMMUNITY_SERVICES).not.toContain('apigatewayv2');
    expect(COMMUNITY_SERVICES).not.toContain('pipes');
    expect(COMMUNITY_SERVICES).toContain('apigateway');
  });

  it('gives every documented gap a consequence, an effect and a source', () => {
    for (const g of COMMUNITY_GAPS) {
      expect(['skipped', 'mocked', 'not-enforced']).toContain(g.consequence);
      expect(g.effect.length, g.type).toBeGreaterThan(40);
      expect(g.source.length, g.type).toBeGreaterThan(10);
      // a skipped type must really lack a community provider; a mocked/not-enforced one must have one
      const has = COMMUNITY.has(localStackType(g.type.replace(/\*$/, 'X')));
      expect(has, g.type).toBe(g.consequence !== 'skipped');
    }
  });
});

describe('the synthesised stack on LocalStack community', () => {
  for (const name of Object.keys(VARIANTS)) {
    it(`${name}: uses only types LocalStack community supports, or documented gaps`, () => {
      const t = template(name);
      expect(unsupportedTypes(t)).toEqual([]);
      expect(() => assertLocalStackReady(t, name)).not.toThrow();
    });
  }

  it('uses API Gateway REST APIs (v1, free tier), never HTTP APIs (apigatewayv2, paid plan)', () => {
    for (const name of Object.keys(VARIANTS)) {
      const types = [...resourceTypes(template(name)).keys()];
      expect(types).toContain('AWS::ApiGateway::RestApi');
      expect(types.filter((t) => t.startsWith('AWS::ApiGatewayV2::'))).toEqual([]);
    }
  });

  it('uses every documented gap in some variant, so the list does not go stale', () => {
    const used = new Set(Object.keys(VARIANTS).flatMap((n) => [...resourceTypes(template(n)).keys()]));
    for (const g of COMMUNITY_GAPS) {
      const inUse = [...used].some((t) => communityGap(t) === g);
      expect(inUse, `${g.type} is documented as a gap but no variant uses it`).toBe(true);
    }
  });

  it('deploy:localstack adds the S3 auto-delete custom resource, which community skips (destroy still empties buckets)', () => {
    const types = resourceTypes(template('deploy:localstack (-c destroyOnRemoval=true)'));
    expect(types.get('Custom::S3AutoDeleteObjects')).toBeGreaterThan(0);
    expect(readiness('Custom::S3AutoDeleteObjects')).toBe('documented-gap');
    expect(resourceTypes(template('default')).has('Custom::S3AutoDeleteObjects')).toBe(false);
  });

  it('the nightly schedule is a documented gap: LocalStack stores it but never runs it', () => {
    // The nightly retraining's and the experiment check's (lib/experiments.ts).
    expect(resourceTypes(template('default')).get('AWS::Scheduler::Schedule')).toBe(2);
    expect(communityGap('AWS::Scheduler::Schedule')?.consequence).toBe('mocked');
  });

  it('the lake catalog (Glue) and the Athena workgroup are documented gaps: skipped, so the Athena engine does not run there', () => {
    const skipped = ['AWS::Athena::WorkGroup', 'AWS::Glue::Database', 'AWS::Glue::Table'];
    const types = resourceTypes(template('deploy:localstack (-c destroyOnRemoval=true)'));
    for (const t of skipped) {
      expect(types.get(t), t).toBeGreaterThan(0);
      expect(COMMUNITY.has(t), t).toBe(false);
      expect(readiness(t), t).toBe('documented-gap');
      expect(communityGap(t)?.consequence, t).toBe('skipped');
      expect(communityGap(t)?.effect, t).toMatch(/retrainingEngine=lambda/);
    }
    expect(COMMUNITY_SERVICES).not.toContain('athena');
    expect(COMMUNITY_SERVICES).not.toContain('glue');
    // A skipped resource gets no real physical ID or attributes: nothing LocalStack does create may Ref or GetAtt one.
    const t = template('deploy:localstack (-c destroyOnRemoval=true)');
    const skippedIds = new Set(Object.entries(t.Resources).filter(([, r]) => skipped.includes(r.Type)).map(([id]) => id));
    const refersTo = (value: unknown): string[] => {
      if (!value || typeof value !== 'object') return [];
      const v = value as Record<string, unknown>;
      const own = typeof v.Ref === 'string' ? [v.Ref] : Array.isArray(v['Fn::GetAtt']) ? [String(v['Fn::GetAtt'][0])] : [];
      return [...own, ...Object.values(v).flatMap(refersTo)];
    };
    const dangling = Object.entries(t.Resources)
      .filter(([, r]) => !skipped.includes(r.Type))
      .flatMap(([id, r]) => refersTo(r.Properties).filter((ref) => skippedIds.has(ref)).map((ref) => `${id} -> ${ref}`));
    expect(dangling).toEqual([]);
  });

  it('reports unsupported types by name (a mutated copy with an HTTP API and a Pipe)', () => {
    const original = template('default');
    const mutated: CfnTemplate = structuredClone(original);
    mutated.Resources.HttpApi = { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'x', ProtocolType: 'HTTP' } };
    mutated.Resources.EventsPipe = { Type: 'AWS::Pipes::Pipe', Properties: { RoleArn: 'arn:aws:iam::123456789012:role/x', Source: 's', Target: 't' } };
    expect(unsupportedTypes(mutated)).toEqual(['AWS::ApiGatewayV2::Api', 'AWS::Pipes::Pipe']);
    expect(() => assertLocalStackReady(mutated, 'mutated')).toThrow(/AWS::ApiGatewayV2::Api \(HttpApi\).*AWS::Pipes::Pipe \(EventsPipe\)/);
    // the original is untouched and still passes
    expect(unsupportedTypes(original)).toEqual([]);
    for (const t of PAID_ONLY_EXAMPLES) expect(readiness(t), t).toBe('unsupported');
  });
});

describe('what deploy:localstack relies on', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
  const compose = read('docker-compose.yml');

  it('the script bootstraps and deploys with cdklocal, destroyOnRemoval and an outputs file', () => {
    expect(pkg.scripts['deploy:localstack']).toBe(
      'cdklocal bootstrap && cdklocal deploy --all --require-approval never -c destroyOnRemoval=true --outputs-file cdk-outputs.localstack.json',
    );
    expect(pkg.scripts['destroy:localstack']).toMatch(/^cdklocal destroy --all/);
  });

  it('cdklocal (aws-cdk-local) and the aws-cdk CLI it wraps are devDependencies', () => {
    expect(pkg.devDependencies['aws-cdk-local']).toBeDefined();
    // aws-cdk-local does not bring aws-cdk: "the dependency aws-cdk needs to be installed manually"
    expect(pkg.devDependencies['aws-cdk']).toBeDefined();
  });

  it('the compose file pins a LocalStack 4.x image (the line that starts without an auth token) on 127.0.0.1:4566', () => {
    const image = /^\s*image:\s*["']?([^\s"']+)["']?\s*$/m.exec(compose)?.[1];
    expect(image, 'docker-compose.yml has no image: line').toBeDefined();
    const [repo, tag] = (image ?? '').split(':');
    expect(repo).toBe(COMMUNITY_IMAGE.repository);
    expect(tag, 'the LocalStack image must carry a version tag').toBeDefined();
    expect(tag).not.toBe('latest');
    expect(tag).toMatch(/^\d+(\.\d+){0,2}$/);
    expect(Number(tag?.split('.')[0]), `LocalStack ${tag}: from 2026-03-23 only 4.x starts without LOCALSTACK_AUTH_TOKEN`).toBe(COMMUNITY_IMAGE.major);
    expect(compose).toMatch(/["']?127\.0\.0\.1:4566:4566["']?/);
  });

  it('the compose SERVICES list loads every service the stack and cdklocal bootstrap use', () => {
    // STRICT_SERVICE_LOADING (default on) serves only the services in SERVICES
    const services = (/^\s*SERVICES:\s*["']?([^"'\n]+)["']?\s*$/m.exec(compose)?.[1] ?? '').split(',').map((s) => s.trim());
    const byNamespace: Record<string, string> = {
      ApiGateway: 'apigateway', CloudWatch: 'cloudwatch', DynamoDB: 'dynamodb', IAM: 'iam', KMS: 'kms', Kinesis: 'kinesis',
      Lambda: 'lambda', Logs: 'logs', S3: 's3', SNS: 'sns', SQS: 'sqs', Scheduler: 'scheduler', StepFunctions: 'stepfunctions',
    };
    const needed = new Set(['cloudformation', 'sts', 'ssm', 's3', 'iam', 'ecr']); // cdklocal bootstrap (CDKToolkit stack)
    for (const name of Object.keys(VARIANTS)) {
      for (const t of resourceTypes(template(name)).keys()) {
        // Skipped types (no community provider, e.g. Athena and Glue) need no service loaded.
        if (t.startsWith('Custom::') || communityGap(t)?.consequence === 'skipped') continue;
        const ns = t.split('::')[1] ?? '';
        const service = byNamespace[ns];
        expect(service, `no LocalStack service known for ${t}`).toBeDefined();
        needed.add(service ?? ns);
      }
    }
    for (const s of needed) {
      expect(services, `docker-compose.yml SERVICES lacks ${s}`).toContain(s);
      if (s !== 'ecr') expect(COMMUNITY_SERVICES, `${s} is not a community service`).toContain(s);
    }
  });
});
