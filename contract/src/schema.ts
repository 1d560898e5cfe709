/**
 * One schema language for every wire message: TypeBox builds the schemas (src/schemas.ts) and
 * their TypeScript types; at build time (`npm run gen -w contract`) they become plain JSON Schema
 * data (also in the query API's OpenAPI document) and ajv's standalone validators
 * (src/generated/), so no service loads TypeBox or ajv's compiler. A refusal is always a
 * {@link ContractError} naming the key path and a dead-letter reason, whatever the bytes.
 *
 * Hot path: a valid message costs JSON.parse plus the generated validator, which allocates
 * nothing (ajv checks unknown keys with a for-in loop, not `Object.keys`). Only a refusal walks
 * the schema to build the message. `npm run bench:contract` compares it with the hand-written
 * check it replaced.
 */
import type { ErrorObject } from 'ajv';
import { X_EXPECT, X_ID, X_REASON } from './annotations.js';
import { clip, ContractError, type RejectReason } from './errors.js';
import { idProblem } from './ids.js';

/** A JSON Schema node, as plain data (src/generated/json-schemas.ts). */
export interface JsonSchema {
  readonly [keyword: string]: unknown;
  description?: string;
}

/** A JSON Schema of an object with named properties. */
export interface ObjectSchema extends JsonSchema {
  type: 'object';
  properties: Record<string, JsonSchema>;
  required?: string[];
}

/** A generated validator (ajv's standalone code): true when valid, else its first error in `errors`. */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export interface MessageSpec<T> {
  /** Names the message where the whole value is wrong: `status: must be an object`. */
  name: string;
  /** The plain JSON Schema (src/generated/json-schemas.ts), walked to word an error. */
  schema: JsonSchema;
  /** The validator generated from the same schema (src/generated/validators.ts). */
  validator: Validator;
  /** Largest payload accepted, bytes (a bigger one is `too_large` before it is parsed). */
  maxBytes: number;
  /** Reason of an error no schema node names one for. @default 'bad_schema' */
  reason?: RejectReason;
  /** Rules across fields that a schema cannot state; throws {@link ContractError}. */
  check?: (value: T) => void;
}

/** A wire message: its schema and its one parser. */
export interface Message<T> {
  readonly name: string;
  /** The JSON Schema (also in the query API's OpenAPI document). */
  readonly schema: JsonSchema;
  readonly maxBytes: number;
  /** Parses and validates a payload (bytes or text). Throws only {@link ContractError}, whatever the input. */
  parse(payload: Uint8Array | string): T;
  /** Validates a value already parsed from JSON (or built in memory). Throws only {@link ContractError}. */
  validate(value: unknown): T;
  /** True when `value` is valid; builds no error. */
  is(value: unknown): value is T;
  /** JSON text of a value (validated first, so nothing invalid leaves through the contract). */
  encode(value: T): string;
}

/** Longest key (one path segment) quoted in an error: keys are the sender's text too. */
const MAX_KEY_CHARS = 64;

/**
 * A value as an error quotes it, bounded whatever it is: strings cut at 40 characters, containers
 * named (never serialized: a deeply nested value would make `JSON.stringify` throw), numbers as
 * they are. JSON text has no Infinity: `1e309` parses to it, and is said to be out of range.
 */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : `a number too large for a double (it reads as ${value})`;
  return String(value);
}

/** `/readings/3/ts` -> `readings[3].ts`; each key cut to {@link MAX_KEY_CHARS}. */
function keyPath(pointer: string, name: string): string {
  if (pointer === '') return name;
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = clip(raw.replace(/~1/g, '/').replace(/~0/g, '~'), MAX_KEY_CHARS);
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = { object: 'an object', array: 'an array', string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean', null: 'null' };
const ID_KEYWORDS = new Set(['type', 'pattern', 'maxLength', 'minLength']);

const join = (path: string, key: string, name: string): string => {
  const k = clip(key, MAX_KEY_CHARS);
  return path === name ? k : `${path}.${k}`;
};

/** The outermost `x-reason` on the schema path of an error (`#/properties/readings/items/...`). */
function reasonOf(root: JsonSchema, schemaPath: string, fallback: RejectReason): RejectReason {
  let node: unknown = root;
  for (const seg of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (typeof node !== 'object' || node === null) break;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
    const r = (node as Record<string, unknown> | undefined)?.[X_REASON];
    if (typeof r === 'string') return r as RejectReason;
  }
  return fallback;
}

function toContractError(spec: Pick<MessageSpec<unknown>, 'name' | 'schema' | 'reason'>, e: ErrorObject): ContractError {
  // A bad key (propertyNames) is reported at the key itself.
  const path = e.propertyName !== undefined ? join(keyPath(e.instancePath, spec.name), e.propertyName, spec.name) : keyPath(e.instancePath, spec.name);
  const node = (e.parentSchema ?? {}) as Record<string, unknown>;
  // Count bounds are size bounds, wherever they are.
  const reason = e.keyword === 'maxItems' ? 'too_large' : reasonOf(spec.schema, e.schemaPath, spec.reason ?? 'bad_schema');
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return new ContractError(reason, join(path, String(p.additionalProperty), spec.name), 'unknown key');
  if (e.keyword === 'required') return new ContractError(reason, join(path, String(p.missingProperty), spec.name), 'is required');
  if (e.keyword === 'maxItems') return new ContractError(reason, path, `has ${(e.data as unknown[]).length} items; at most ${String(p.limit)} are allowed`);
  if (e.keyword === 'not') {
    const not = node.not as { const?: unknown } | undefined;
    return new ContractError(reason, path, not && 'const' in not ? `${JSON.stringify(not.const)} is reserved` : 'is not allowed');
  }
  if (typeof node[X_ID] === 'string' && ID_KEYWORDS.has(e.keyword)) return new ContractError(reason, path, idProblem(node[X_ID], e.data));
  if (e.keyword === 'type' && typeof node[X_EXPECT] !== 'string') return new ContractError(reason, path, `must be ${TYPE_NAMES[String(p.type)] ?? String(p.type)}, got ${shown(e.data)}`);
  const expect = typeof node[X_EXPECT] === 'string' ? node[X_EXPECT] : e.keyword === 'const' ? `must be ${JSON.stringify(p.allowedValue)}` : e.keyword === 'enum' ? `must be one of ${(p.allowedValues as unknown[]).join(', ')}` : (e.message ?? 'is invalid');
  return new ContractError(reason, path, `${expect}, got ${shown(e.data)}`);
}

/** The error to report: a failed union (anyOf) speaks for its branches' errors, which come before it. */
function firstError(errors: ErrorObject[]): ErrorObject {
  const last = errors[errors.length - 1]!;
  return last.keyword === 'anyOf' ? last : errors[0]!;
}

/** Defines a wire message: schema and its generated validator, size bound, cross-field rules. */
export function defineMessage<T>(spec: MessageSpec<T>): Message<T> {
  const v = spec.validator;
  const validate = (value: unknown): T => {
    if (!v(value)) throw toContractError(spec, firstError(v.errors!));
    spec.check?.(value as T);
    return value as T;
  };
  return {
    name: spec.name,
    schema: spec.schema,
    maxBytes: spec.maxBytes,
    parse(payload) {
      const size = typeof payload === 'string' ? (payload.length * 3 <= spec.maxBytes ? payload.length : Buffer.byteLength(payload)) : payload.byteLength;
      if (size > spec.maxBytes) throw new ContractError('too_large', 'payload', `is ${size} bytes; at most ${spec.maxBytes} are allowed`);
      let value: unknown;
      try {
        const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
        value = JSON.parse(text);
      } catch (err) {
        throw new ContractError('bad_json', 'payload', `is not valid JSON (${clip(String((err as Error).message), 200)})`, { cause: err });
      }
      return validate(value);
    },
    validate,
    is(value): value is T {
      if (!v(value)) return false;
      try {
        spec.check?.(value as T);
        return true;
      } catch {
        return false;
      }
    },
    encode(value) {
      return JSON.stringify(validate(value));
    },
  };
}
