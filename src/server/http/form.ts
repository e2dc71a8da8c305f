// Reads a browser form post with a size limit and checks it against a schema. Works on any
// runtime with the Fetch API (the body is read as a stream, not through a Node request).
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { BodyError, readBodyLimited } from './body.ts';
import { en } from '../i18n/en.ts';
import { messagesOf, type Messages } from '../i18n/index.ts';
import { isSameOrigin } from './origin.ts';
import type { PageShell } from './page-shell.ts';
import { crossSiteForbidden, htmlPage } from './responses.ts';

/** Our forms hold an email, two passwords and a path: a few hundred bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

export class FormError extends Error {
  readonly status: 413 | 415 | 400;
  /** The message in the site's language; `message` is the English one, for logs. */
  readonly say: (t: Messages) => string;
  constructor(status: 413 | 415 | 400, say: (t: Messages) => string) {
    super(say(en));
    this.say = say;
    this.name = 'FormError';
    this.status = status;
  }
}

/**
 * The form's fields as an object for a schema: a field sent once is a string, a repeated field is
 * an array and a file is a File, so the schema (which expects strings) refuses both.
 */
export async function readForm(request: Request, limit = MAX_FORM_BYTES): Promise<Record<string, unknown>> {
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!FORM_TYPES.some((formType) => type.startsWith(formType))) throw new FormError(415, (t) => t.page.formType);
  let body: Uint8Array;
  try {
    body = await readBodyLimited(request, limit);
  } catch (error) {
    if (error instanceof BodyError) throw new FormError(error.status, (t) => (error.status === 413 ? t.page.formLarger(limit) : t.page.formIncomplete));
    throw error;
  }
  let form: FormData;
  try {
    form = await new Response(body as BodyInit, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new FormError(400, (t) => t.page.formUnreadable);
  }
  const fields: Record<string, unknown> = {};
  for (const [name, value] of form) {
    const previous = fields[name];
    if (previous === undefined) fields[name] = value;
    else fields[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return fields;
}

export type FormResult<T> = { ok: true; data: T } | { ok: false; error: string };

/** The first problem as an error code (the schemas' messages are codes, see form-messages.ts). */
export function parseForm<S extends z.ZodType>(schema: S, fields: Record<string, unknown>): FormResult<z.output<S>> {
  const result = schema.safeParse(fields);
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  const code = issue && /^[a-z-]+$/.test(issue.message) ? issue.message : 'form-invalid';
  return { ok: false, error: code };
}

/**
 * The start of every form endpoint: refuse other sites' posts, then read the fields. Returns the
 * fields, or the response to give when there is nothing to parse.
 */
export async function acceptFormPost(request: Request, ctx: { config: Config; pageShell(): Promise<PageShell> }): Promise<Record<string, unknown> | Response> {
  const { config } = ctx;
  const t = await messagesOf(ctx);
  if (request.method !== 'POST') return htmlPage(t, 405, t.page.methodNotAllowed, t.page.sendFromPage, { Allow: 'POST' });
  // A refusal leaves the body unread; `Connection: close` stops a client from reusing a socket
  // the server is about to drop.
  if (!isSameOrigin(request, config)) return withConnectionClose(crossSiteForbidden(t));
  try {
    return await readForm(request);
  } catch (error) {
    if (error instanceof FormError) {
      return withConnectionClose(htmlPage(t, error.status, error.status === 413 ? t.page.formTooLarge : t.page.formNotUnderstood, error.say(t)));
    }
    throw error;
  }
}

function withConnectionClose(response: Response): Response {
  response.headers.set('Connection', 'close');
  return response;
}
