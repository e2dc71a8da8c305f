// What a request to the stand-in may say, and how Stripe refuses what it may not. Stripe sends its
// parameters in bracket notation and answers a bad one with a 400 that names the parameter and a
// code; the site's error handling is only tested if the stand-in refuses exactly as strictly, so
// every reading of a parameter goes through the readers here and every refusal is an ApiError.

/** An object as Stripe sends it: the stand-in's objects and responses are plain JSON. */
export type Json = Record<string, unknown>;
export type Metadata = Record<string, string>;

export type Param = string | Param[] | ParamObject;
export interface ParamObject {
  [key: string]: Param;
}

/** A refusal in Stripe's shape: the status, and the `error` body the SDK turns into its classes. */
export class ApiError extends Error {
  status: number;
  type: string;
  code: string | undefined;
  param: string | undefined;
  constructor(status: number, message: string, extra: { type?: string; code?: string; param?: string } = {}) {
    super(message);
    this.status = status;
    this.type = extra.type ?? 'invalid_request_error';
    this.code = extra.code;
    this.param = extra.param;
  }
}

/** The `{ error: { … } }` body Stripe answers a refusal with. */
export function errorBody(e: ApiError): Json {
  const error: Json = { message: e.message, type: e.type };
  if (e.code) {
    error.code = e.code;
    error.doc_url = `https://stripe.com/docs/error-codes/${e.code.replaceAll('_', '-')}`;
  }
  if (e.param) error.param = e.param;
  return { error };
}

export const missing = (param: string) => new ApiError(400, `Missing required param: ${param}.`, { code: 'parameter_missing', param });
/** An unknown id: 404 in a path, 400 when it came in a body. */
export const noSuch = (kind: string, id: string, param: string, status = 404) =>
  new ApiError(status, `No such ${kind}: '${id}'`, { code: 'resource_missing', param });
export const invalid = (param: string, message: string, code?: string) => new ApiError(400, message, { param, code });
/** The name of a nested parameter as Stripe reports it: `line_items[0][price_data]`. */
export const sub = (prefix: string, key: string | number) => (prefix ? `${prefix}[${key}]` : String(key));

/** Stripe's bracket notation (`a[b][0][c]=x`, `expand[]=y`) into nested objects and arrays. */
export function parseBracketParams(search: URLSearchParams): ParamObject {
  const root: Record<string, any> = {};
  for (const [rawKey, value] of search) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const path = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [rawKey];
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] === '' ? String(Object.keys(node).length) : path[i]!;
      if (i === path.length - 1) node[seg] = value;
      else {
        if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
        node = node[seg];
      }
    }
  }
  const arrayify = (v: any, key: string): Param => {
    if (typeof v === 'string') return v;
    const out: ParamObject = {};
    for (const k of Object.keys(v)) out[k] = arrayify(v[k], k);
    const keys = Object.keys(out);
    // metadata keys may legitimately be digits; everything else with index keys is an array
    if (key !== 'metadata' && keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k))) {
      return keys
        .map(Number)
        .sort((a, b) => a - b)
        .map((n) => out[String(n)]!);
    }
    return out;
  };
  return arrayify(root, '') as ParamObject;
}

export const isObj = (v: Param | undefined): v is ParamObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stripe refuses a parameter it does not know, so a typo in the site fails here as it would live. */
export function allowOnly(p: ParamObject, allowed: readonly string[], prefix = ''): void {
  for (const key of Object.keys(p)) {
    if (!allowed.includes(key))
      throw new ApiError(400, `Received unknown parameter: ${sub(prefix, key)}`, { code: 'parameter_unknown', param: sub(prefix, key) });
  }
}

export function str(p: ParamObject, key: string, prefix = '', required = false): string | undefined {
  const v = p[key];
  if (v === undefined || v === '') {
    if (required) throw missing(sub(prefix, key));
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(sub(prefix, key), `Invalid string: ${sub(prefix, key)} must be a string.`);
  return v;
}

/**
 * An enum parameter: a value the pinned API version does not list is refused with
 * `parameter_invalid`, as Stripe refuses it (the lists follow the stripe package's types).
 */
export function oneOf<T extends string>(p: ParamObject, key: string, values: readonly T[], prefix = ''): T | undefined {
  const raw = str(p, key, prefix);
  if (raw === undefined) return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    const param = sub(prefix, key);
    throw new ApiError(400, `Invalid ${param}: must be one of ${values.join(', ')}`, { code: 'parameter_invalid', param });
  }
  return raw as T;
}

export function int(p: ParamObject, key: string, prefix = '', min?: 0 | 1): number | undefined {
  const raw = str(p, key, prefix);
  if (raw === undefined) return undefined;
  const param = sub(prefix, key);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw invalid(param, `Invalid integer: ${raw}`, 'parameter_invalid_integer');
  const n = Number(raw);
  if (min === 0 && n < 0) throw invalid(param, `Invalid non-negative integer: ${raw}`, 'parameter_invalid_integer');
  if (min === 1 && n < 1) throw invalid(param, `Invalid positive integer: ${raw}`, 'parameter_invalid_integer');
  return n;
}

export function bool(p: ParamObject, key: string, prefix = ''): boolean | undefined {
  const raw = str(p, key, prefix);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw invalid(sub(prefix, key), `Invalid boolean: ${raw}`);
  return raw === 'true';
}

export function obj(p: ParamObject, key: string, prefix = ''): ParamObject | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (!isObj(v)) throw invalid(sub(prefix, key), `Invalid hash: ${sub(prefix, key)}`);
  return v;
}

export function arr(p: ParamObject, key: string, prefix = ''): Param[] | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (!Array.isArray(v)) throw invalid(sub(prefix, key), `Invalid array: ${sub(prefix, key)}`);
  return v;
}

/** Stripe's limits on metadata: 50 keys of at most 40 characters, values of at most 500; '' unsets. */
export function metadata(p: ParamObject, key: string, prefix = ''): Metadata {
  const o = obj(p, key, prefix) ?? {};
  const param = sub(prefix, key);
  const keys = Object.keys(o);
  if (keys.length > 50) throw invalid(param, `Invalid metadata: metadata can have up to 50 keys, but you passed in ${keys.length} keys.`);
  const out: Metadata = {};
  for (const k of keys) {
    const v = o[k];
    if (typeof v !== 'string') throw invalid(sub(param, k), `Invalid metadata: values must be strings (${sub(param, k)}).`);
    if (k.length > 40) throw invalid(sub(param, k), `Invalid metadata: keys can be at most 40 characters (${k}).`);
    if (v.length > 500) throw invalid(sub(param, k), `Invalid metadata: values can be at most 500 characters (${sub(param, k)}).`);
    if (v !== '') out[k] = v;
  }
  return out;
}

export function url(p: ParamObject, key: string): string | undefined {
  const raw = str(p, key);
  if (raw === undefined) return undefined;
  let parsed: URL | null = null;
  try {
    parsed = new URL(raw);
  } catch {
    /* reported below */
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol)) throw invalid(key, 'Not a valid URL', 'url_invalid');
  return raw;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const isEmail = (value: string): boolean => EMAIL_RE.test(value);

/** An email address given as `param`, refused as Stripe refuses one. */
export function checkEmail(value: string, param: string): string {
  if (!isEmail(value)) throw invalid(param, `Invalid email address: ${value}`, 'email_invalid');
  return value;
}

export function email(p: ParamObject, key: string): string | undefined {
  const raw = str(p, key);
  return raw === undefined ? undefined : checkEmail(raw, key);
}

export function expandList(p: ParamObject): string[] {
  return (arr(p, 'expand') ?? []).map((v, i) => {
    if (typeof v !== 'string') throw invalid(`expand[${i}]`, 'Invalid expand value');
    return v;
  });
}

/** `created=123` or `created[gte]=123` etc. */
export function createdFilter(p: ParamObject): (created: number) => boolean {
  const v = p.created;
  if (v === undefined || v === '') return () => true;
  if (typeof v === 'string') {
    const at = int(p, 'created')!;
    return (c) => c === at;
  }
  if (!isObj(v)) throw invalid('created', 'Invalid hash: created');
  allowOnly(v, ['gt', 'gte', 'lt', 'lte'], 'created');
  const gt = int(v, 'gt', 'created'),
    gte = int(v, 'gte', 'created'),
    lt = int(v, 'lt', 'created'),
    lte = int(v, 'lte', 'created');
  return (c) => (gt === undefined || c > gt) && (gte === undefined || c >= gte) && (lt === undefined || c < lt) && (lte === undefined || c <= lte);
}
