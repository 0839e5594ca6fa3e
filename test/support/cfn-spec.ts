/**
 * An offline check that a synthesized CloudFormation template is one AWS would accept, property by
 * property, against CDK's own copy of the CloudFormation resource specification
 * (`@aws-cdk/aws-service-spec`, the registry schemas of every resource type) plus the documented limits
 * of test/support/cfn-ranges.ts.
 *
 * It reports: unknown resource types; unknown properties at every nesting level; wrong types (string,
 * number, integer, boolean, list, map, nested object, tag); missing required properties; values outside
 * the DB's enums (`allowedValues`) and outside the table's ranges/enums; Ref / Fn::GetAtt / DependsOn
 * pointing at nothing; Fn::GetAtt of an attribute the target type does not have; bad resource-level keys.
 *
 * Intrinsic functions count as acceptable where their result type fits: `Fn::Join`, `Fn::Sub`,
 * `Fn::Base64`, `Fn::ToJsonString`, `Fn::ImportValue` return strings (fine for any scalar, since
 * CloudFormation converts strings to the schema's number/boolean; not for lists or objects);
 * `Fn::Split`, `Fn::GetAZs`, `Fn::Cidr` return lists; `Ref`, `Fn::GetAtt`, `Fn::Select`, `Fn::FindInMap`
 * may return anything (a `Ref` to a List parameter is a list) except that a `Ref` is never an object;
 * both branches of `Fn::If` are checked against the expected type (`{Ref: AWS::NoValue}` = absent).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, ResourceProperties, SpecDatabase, Resource } from '@aws-cdk/service-spec-types';
import { CFN_VALUE_RULES, type ValueRule } from './cfn-ranges';

export interface Finding {
  /** Logical ID of the resource in the template. */
  logicalId: string;
  /** Its CloudFormation type, e.g. AWS::Lambda::Function. */
  resourceType: string;
  /** JSON path from the resource, e.g. `Properties.KeySchema[0].KeyType`. */
  path: string;
  message: string;
}

type JsonObject = { [key: string]: unknown };
interface Issue { path: string; message: string }

let cachedDb: SpecDatabase | undefined;
/** The service-spec database, loaded once per process (~0.7 s). */
export function specDatabase(): SpecDatabase {
  cachedDb ??= loadAwsServiceSpecSync();
  return cachedDb;
}

/** The DB's entry for a CloudFormation type, or undefined when the type does not exist. */
export function lookupResource(cfnType: string, db: SpecDatabase = specDatabase()): Resource | undefined {
  const found = db.lookup('resource', 'cloudFormationType', 'equals', cfnType);
  return found.length > 0 ? found[0] : undefined;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const INTRINSICS = new Set([
  'Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Sub', 'Fn::If', 'Fn::Select', 'Fn::Split', 'Fn::FindInMap', 'Fn::GetAZs',
  'Fn::ImportValue', 'Fn::Base64', 'Fn::Cidr', 'Fn::ToJsonString', 'Fn::Length', 'Fn::Transform', 'Fn::Equals',
  'Fn::And', 'Fn::Or', 'Fn::Not', 'Fn::ForEach', 'Fn::GetStackOutput',
]);
/** `{ "Ref": ... }` or `{ "Fn::X": ... }`: a single-key object naming an intrinsic function. */
function intrinsicName(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && INTRINSICS.has(keys[0]) ? keys[0] : undefined;
}
const isNoValue = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 1 && v.Ref === 'AWS::NoValue';

type Produces = 'string' | 'list' | 'number' | 'boolean' | 'any' | 'scalar-or-list';
const PRODUCES: Record<string, Produces> = {
  'Fn::Join': 'string', 'Fn::Sub': 'string', 'Fn::Base64': 'string', 'Fn::ToJsonString': 'string', 'Fn::ImportValue': 'string',
  'Fn::GetStackOutput': 'string',
  'Fn::Split': 'list', 'Fn::GetAZs': 'list', 'Fn::Cidr': 'list',
  'Fn::Length': 'number',
  'Fn::Equals': 'boolean', 'Fn::And': 'boolean', 'Fn::Or': 'boolean', 'Fn::Not': 'boolean',
  // A Ref is a resource's identifier (a string) or a parameter's value (a string, number or list).
  Ref: 'scalar-or-list',
  'Fn::GetAtt': 'any', 'Fn::Select': 'any', 'Fn::FindInMap': 'any', 'Fn::Transform': 'any', 'Fn::ForEach': 'any',
};

const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'date-time']);

/** What shape of JSON value a spec type accepts. */
function shapeOfType(t: PropertyType): 'scalar' | 'array' | 'object' | 'json' | 'null' | 'union' {
  switch (t.type) {
    case 'array': return 'array';
    case 'map': case 'ref': case 'tag': return 'object';
    case 'json': return 'json';
    case 'null': return 'null';
    case 'union': return 'union';
    default: return 'scalar';
  }
}
function shapeOfValue(v: unknown): 'scalar' | 'array' | 'object' | 'null' | 'intrinsic' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (intrinsicName(v) !== undefined) return 'intrinsic';
  if (isObject(v)) return 'object';
  return 'scalar';
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  const fn = intrinsicName(v);
  if (fn !== undefined) return `{${fn}}`;
  if (isObject(v)) return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const child = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

const NUMERIC = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** A number, or a string CloudFormation would convert to one. */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && NUMERIC.test(v.trim())) return Number(v);
  return undefined;
}

class Checker {
  constructor(private readonly db: SpecDatabase) {}

  typeName(t: PropertyType): string {
    switch (t.type) {
      case 'ref': return this.db.get('typeDefinition', t.reference).name;
      case 'array': return `list<${this.typeName(t.element)}>`;
      case 'map': return `map<${this.typeName(t.element)}>`;
      case 'union': return t.types.map((m) => this.typeName(m)).join(' | ');
      default: return t.type;
    }
  }

  /** Every problem with `value` as a `type`, located under `path`. */
  value(value: unknown, type: PropertyType, path: string): Issue[] {
    if (type.type === 'union') return this.union(value, type.types, path);
    if (type.type === 'json') return [];
    const fn = intrinsicName(value);
    if (fn !== undefined) return this.intrinsic(fn, value as JsonObject, type, path);
    const wrong = (): Issue[] => [{ path, message: `expected ${this.typeName(type)}, got ${describeValue(value)}` }];
    switch (type.type) {
      case 'string': {
        // CloudFormation turns a number or boolean given for a string property into its string form.
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return wrong();
        const allowed = type.allowedValues;
        if (allowed !== undefined && allowed.length > 0 && !allowed.includes(String(value))) {
          return [{ path, message: `${JSON.stringify(value)} is not one of ${allowed.join(' | ')} (CloudFormation resource schema)` }];
        }
        return [];
      }
      case 'date-time':
        return typeof value === 'string' ? [] : wrong();
      case 'number':
        return asNumber(value) === undefined ? wrong() : [];
      case 'integer': {
        const n = asNumber(value);
        if (n === undefined || !Number.isInteger(n)) return wrong();
        const allowed = type.allowedValues;
        if (allowed !== undefined && allowed.length > 0 && !allowed.includes(n)) {
          return [{ path, message: `${n} is not one of ${allowed.join(' | ')} (CloudFormation resource schema)` }];
        }
        return [];
      }
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : wrong();
      case 'null':
        return value === null ? [] : wrong();
      case 'tag':
        return isObject(value) ? this.object(value, TAG_PROPERTIES, 'Tag', path) : wrong();
      case 'array':
        if (!Array.isArray(value)) return wrong();
        return value.flatMap((element, i) => this.value(element, type.element, child(path, i)));
      case 'map':
        if (!isObject(value)) return wrong();
        return Object.entries(value).flatMap(([k, v]) => this.value(v, type.element, child(path, k)));
      case 'ref': {
        if (!isObject(value)) return wrong();
        const def = this.db.get('typeDefinition', type.reference);
        return this.object(value, def.properties, def.name, path);
      }
    }
  }

  /**
   * A union accepts a value that one member accepts. Members of the value's own shape are tried first, and
   * when some exist the `json` member is not a catch-all (a list given for "list<KeySchema> | json" must be
   * a valid list<KeySchema>, as the registry schema's `oneOf` requires).
   */
  private union(value: unknown, members: PropertyType[], path: string): Issue[] {
    const shape = shapeOfValue(value);
    if (shape === 'intrinsic') {
      const results = members.map((m) => this.value(value, m, path));
      return results.some((r) => r.length === 0) ? [] : results[0];
    }
    const sameShape = members.filter((m) => {
      const s = shapeOfType(m);
      return s === shape || s === 'union';
    });
    if (sameShape.length > 0) {
      const results = sameShape.map((m) => this.value(value, m, path));
      if (results.some((r) => r.length === 0)) return [];
      return results.reduce((best, r) => (r.length < best.length ? r : best));
    }
    if (members.some((m) => m.type === 'json')) return [];
    return [{ path, message: `expected ${members.map((m) => this.typeName(m)).join(' | ')}, got ${describeValue(value)}` }];
  }

  private intrinsic(fn: string, value: JsonObject, type: PropertyType, path: string): Issue[] {
    if (fn === 'Fn::If') {
      const args = value['Fn::If'];
      if (!Array.isArray(args) || args.length !== 3 || typeof args[0] !== 'string') {
        return [{ path, message: 'Fn::If takes [conditionName, valueIfTrue, valueIfFalse]' }];
      }
      return [1, 2].flatMap((i) => (isNoValue(args[i]) ? [] : this.value(args[i], type, child(child(path, 'Fn::If'), i))));
    }
    const produces = PRODUCES[fn] ?? 'any';
    const shape = shapeOfType(type);
    const ok =
      produces === 'any' ? true
      : shape === 'scalar' ? produces !== 'list'
      : shape === 'array' ? produces === 'list' || produces === 'scalar-or-list'
      : shape === 'object' ? false
      : true;
    return ok ? [] : [{ path, message: `${fn} returns ${produces === 'scalar-or-list' ? 'a string or list' : `a ${produces}`}, but ${this.typeName(type)} is expected` }];
  }

  /** Unknown keys, wrong values and missing required properties of an object of a known property set. */
  object(value: JsonObject, props: ResourceProperties, typeName: string, path: string): Issue[] {
    const issues: Issue[] = [];
    for (const [key, v] of Object.entries(value)) {
      const prop = props[key];
      if (prop === undefined) {
        issues.push({ path: child(path, key), message: `unknown property "${key}" of ${typeName} (known: ${Object.keys(props).sort().join(', ')})` });
        continue;
      }
      if (isNoValue(v)) continue;
      issues.push(...this.value(v, prop.type, child(path, key)));
    }
    for (const [key, prop] of Object.entries(props)) {
      if (prop.required === true && (!(key in value) || isNoValue(value[key]))) {
        issues.push({ path: child(path, key), message: `missing required property "${key}" of ${typeName}` });
      }
    }
    return issues;
  }
}

const TAG_PROPERTIES: ResourceProperties = {
  Key: { type: { type: 'string' }, required: true },
  Value: { type: { type: 'string' }, required: true },
};

const RESOURCE_KEYS = new Set([
  'Type', 'Properties', 'DependsOn', 'Metadata', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy',
  'CreationPolicy', 'Version',
]);
const DELETION_POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
const UPDATE_REPLACE_POLICIES = ['Delete', 'Retain', 'Snapshot'];
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId',
  'AWS::StackName', 'AWS::URLSuffix',
]);

/** Ref / GetAtt / Sub references that point at nothing, anywhere in a resource's properties. */
function referenceIssues(value: unknown, path: string, resources: JsonObject, parameters: JsonObject, db: SpecDatabase): Issue[] {
  const issues: Issue[] = [];
  const known = (id: string): boolean => id in resources || id in parameters || PSEUDO_PARAMETERS.has(id);
  const getAtt = (id: string, attr: string, at: string): void => {
    const target = resources[id];
    if (!isObject(target)) {
      issues.push({ path: at, message: `Fn::GetAtt of unknown resource "${id}"` });
      return;
    }
    const targetType = typeof target.Type === 'string' ? target.Type : '';
    if (targetType.startsWith('Custom::') || targetType === 'AWS::CloudFormation::CustomResource') return;
    const spec = lookupResource(targetType, db);
    if (spec !== undefined && !(attr in spec.attributes)) {
      issues.push({ path: at, message: `Fn::GetAtt: ${targetType} has no attribute "${attr}" (has: ${Object.keys(spec.attributes).sort().join(', ')})` });
    }
  };
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) { v.forEach((e, i) => walk(e, child(at, i))); return; }
    if (!isObject(v)) return;
    const fn = intrinsicName(v);
    if (fn === 'Ref') {
      if (typeof v.Ref !== 'string') issues.push({ path: at, message: 'Ref takes a logical ID string' });
      else if (!known(v.Ref)) issues.push({ path: at, message: `Ref to unknown logical ID "${v.Ref}"` });
      return;
    }
    if (fn === 'Fn::GetAtt') {
      const a = v['Fn::GetAtt'];
      const parts = typeof a === 'string' ? [a.slice(0, a.indexOf('.')), a.slice(a.indexOf('.') + 1)] : a;
      if (Array.isArray(parts) && parts.length === 2 && typeof parts[0] === 'string' && typeof parts[1] === 'string') getAtt(parts[0], parts[1], at);
      else if (!(Array.isArray(parts) && parts.length === 2)) issues.push({ path: at, message: 'Fn::GetAtt takes [logicalId, attributeName]' });
      else walk(parts, child(at, 'Fn::GetAtt'));
      return;
    }
    if (fn === 'Fn::Sub') {
      const a = v['Fn::Sub'];
      const [text, vars] = typeof a === 'string' ? [a, {}] : Array.isArray(a) ? [a[0], a[1] ?? {}] : [undefined, {}];
      if (typeof text === 'string') {
        const local = isObject(vars) ? vars : {};
        for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const ref = m[1].trim();
          if (ref in local) continue;
          const dot = ref.indexOf('.');
          if (dot < 0) { if (!known(ref)) issues.push({ path: at, message: `Fn::Sub references unknown logical ID "${ref}"` }); }
          else getAtt(ref.slice(0, dot), ref.slice(dot + 1), at);
        }
      }
      if (isObject(vars)) for (const [k, e] of Object.entries(vars)) walk(e, child(child(at, 'Fn::Sub'), k));
      return;
    }
    for (const [k, e] of Object.entries(v)) walk(e, child(at, k));
  };
  walk(value, path);
  return issues;
}

/** Values found at a rule path (`A.B[].C`) inside `props`, skipping intrinsics, with their JSON paths. */
function valuesAt(props: JsonObject, rulePath: string): Array<{ path: string; value: unknown }> {
  const segments = rulePath.replace(/\[\]/g, '.[]').split('.').filter((s) => s !== '');
  let current: Array<{ path: string; value: unknown }> = [{ path: 'Properties', value: props }];
  for (const seg of segments) {
    const next: Array<{ path: string; value: unknown }> = [];
    for (const { path, value } of current) {
      if (seg === '[]') {
        if (Array.isArray(value)) value.forEach((e, i) => next.push({ path: child(path, i), value: e }));
      } else if (isObject(value) && intrinsicName(value) === undefined && seg in value) {
        next.push({ path: child(path, seg), value: value[seg] });
      }
    }
    current = next;
  }
  return current.filter(({ value }) => intrinsicName(value) === undefined && value !== undefined);
}

/**
 * The spec type at a rule path, or undefined when the path names no property of the resource type (used
 * to skip table enums the DB already has, and by the tests to prove every table path is real).
 */
export function specTypeAt(resourceType: string, rulePath: string, db: SpecDatabase = specDatabase()): PropertyType | undefined {
  const resource = lookupResource(resourceType, db);
  if (resource === undefined) return undefined;
  const segments = rulePath.replace(/\[\]/g, '.[]').split('.').filter((s) => s !== '');
  let props: ResourceProperties | undefined = resource.properties;
  let type: PropertyType | undefined;
  const structured = (t: PropertyType, want: 'array' | 'ref'): PropertyType | undefined =>
    t.type === 'union' ? t.types.find((m) => m.type === want) : t.type === want ? t : undefined;
  for (const seg of segments) {
    if (seg === '[]') {
      const arr: PropertyType | undefined = type === undefined ? undefined : structured(type, 'array');
      if (arr === undefined || arr.type !== 'array') return undefined;
      type = arr.element;
      props = undefined;
      continue;
    }
    if (props === undefined && type !== undefined) {
      const r = structured(type, 'ref');
      if (r === undefined || r.type !== 'ref') return undefined;
      props = db.get('typeDefinition', r.reference).properties;
    }
    const prop: ResourceProperties[string] | undefined = props?.[seg];
    if (prop === undefined) return undefined;
    type = prop.type;
    props = undefined;
  }
  return type;
}

function hasAllowedValues(t: PropertyType): boolean {
  if (t.type === 'string' || t.type === 'integer') return (t.allowedValues?.length ?? 0) > 0;
  if (t.type === 'union') return t.types.some(hasAllowedValues);
  return false;
}

function ruleIssues(rule: ValueRule, props: JsonObject, db: SpecDatabase): Issue[] {
  const enumOnly = rule.ranges === undefined;
  const issues: Issue[] = [];
  for (const rulePath of rule.paths) {
    if (enumOnly) {
      const t = specTypeAt(rule.resourceType, rulePath, db);
      if (t !== undefined && hasAllowedValues(t)) continue; // the DB's enum already applies
    }
    for (const { path, value } of valuesAt(props, rulePath)) {
      const n = asNumber(value);
      const inValues = rule.values?.some((allowed) => (typeof allowed === 'number' ? n === allowed : value === allowed)) ?? false;
      const inRanges = n !== undefined && (rule.ranges ?? []).some(([lo, hi]) => n >= lo && n <= hi);
      if (inValues || inRanges) continue;
      const expected = [
        ...(rule.values !== undefined ? [rule.values.join(' | ')] : []),
        ...(rule.ranges ?? []).map(([lo, hi]) => (hi === Infinity ? `>= ${lo}` : `${lo}–${hi}`)),
      ].join(' or ');
      issues.push({ path, message: `${JSON.stringify(value)} is outside the documented ${expected} (${rule.source})` });
    }
  }
  return issues;
}

/**
 * Every property of every resource in `template` (CloudFormation JSON, e.g. `Template.toJSON()`) checked
 * against the CloudFormation resource specification and the documented limits. Empty when AWS would
 * accept the template as far as an offline check can tell.
 */
export function checkTemplateAgainstSpec(template: object, db: SpecDatabase = specDatabase()): Finding[] {
  const findings: Finding[] = [];
  const t = template as JsonObject;
  const resources = isObject(t.Resources) ? t.Resources : {};
  const parameters = isObject(t.Parameters) ? t.Parameters : {};
  const checker = new Checker(db);
  if (!isObject(t.Resources)) findings.push({ logicalId: '', resourceType: '', path: 'Resources', message: 'a template needs a Resources object' });

  for (const [logicalId, resource] of Object.entries(resources)) {
    const add = (resourceType: string, issues: Issue[]): void => {
      for (const i of issues) findings.push({ logicalId, resourceType, path: i.path, message: i.message });
    };
    if (!isObject(resource)) { add('', [{ path: '', message: 'a resource must be an object' }]); continue; }
    const type = typeof resource.Type === 'string' ? resource.Type : '';
    if (!/^[A-Za-z0-9]+$/.test(logicalId)) add(type, [{ path: '', message: 'logical IDs must be alphanumeric' }]);
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) add(type, [{ path: key, message: `unknown resource attribute "${key}"` }]);
    }
    if (resource.DeletionPolicy !== undefined && !DELETION_POLICIES.includes(String(resource.DeletionPolicy))) {
      add(type, [{ path: 'DeletionPolicy', message: `${JSON.stringify(resource.DeletionPolicy)} is not one of ${DELETION_POLICIES.join(' | ')}` }]);
    }
    if (resource.UpdateReplacePolicy !== undefined && !UPDATE_REPLACE_POLICIES.includes(String(resource.UpdateReplacePolicy))) {
      add(type, [{ path: 'UpdateReplacePolicy', message: `${JSON.stringify(resource.UpdateReplacePolicy)} is not one of ${UPDATE_REPLACE_POLICIES.join(' | ')}` }]);
    }
    const dependsOn = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    dependsOn.forEach((d, i) => {
      if (typeof d !== 'string' || !(d in resources)) add(type, [{ path: Array.isArray(resource.DependsOn) ? `DependsOn[${i}]` : 'DependsOn', message: `DependsOn unknown resource ${JSON.stringify(d)}` }]);
    });
    if (type === '') { add(type, [{ path: 'Type', message: 'missing resource Type' }]); continue; }

    const props = resource.Properties ?? {};
    if (!isObject(props) || intrinsicName(props) !== undefined) {
      add(type, [{ path: 'Properties', message: `Properties must be an object, got ${describeValue(props)}` }]);
      continue;
    }
    add(type, referenceIssues(props, 'Properties', resources, parameters, db));

    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') {
      // Custom resources take any properties; CloudFormation needs only the provider's ServiceToken.
      if (props.ServiceToken === undefined) add(type, [{ path: 'Properties.ServiceToken', message: 'missing required property "ServiceToken" of a custom resource' }]);
      continue;
    }
    if (type === 'AWS::CDK::Metadata') continue; // CDK's version-reporting resource, handled by the CDK toolkit
    const spec = lookupResource(type, db);
    if (spec === undefined) { add(type, [{ path: 'Type', message: `unknown resource type ${type}` }]); continue; }

    add(type, checker.object(props, spec.properties, type, 'Properties'));
    for (const rule of CFN_VALUE_RULES) if (rule.resourceType === type) add(type, ruleIssues(rule, props, db));
  }
  return findings;
}

/** Findings as one line each, for assertion messages. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.logicalId} (${f.resourceType}) ${f.path}: ${f.message}`).join('\n');
}
