// The admin's changes (POST): grant (to a member, or to an email that may have no account yet),
// revoke, a password email, sign out everywhere. Each is a form post that passed the origin check,
// is parsed by a schema (a bad one gets a 400 page and changes nothing), goes through the same
// commands as `npm run admin` (effect and audit row in one batch), and answers 303 back to the
// member's page with a notice.
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { TOKEN_LIFETIME_MS } from '../auth/tokens.ts';
import { isMailCapped, sendAfterResponse } from '../email/mailer.ts';
import { passwordResetMessage, setPasswordMessage } from '../email/messages.ts';
import { parseForm } from '../http/form.ts';
import { redirect } from '../http/responses.ts';
import { SET_PASSWORD_LINK_MS } from '../payments/fulfil.ts';
import { emailSchema } from '../auth/credentials.ts';
import { courseSlugSchema, grantCourse, issuePasswordLink, revokeCourse, signOutMember, type AdminActor } from './commands.ts';
import { GRANT_REASONS, REVOKE_REASONS } from './pages.ts';
import { getMemberDetail } from './queries.ts';
import { badRequest } from './views.ts';
import { messagesOf, type Texts } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';

const note = z
  .string()
  .trim()
  .max(200, { error: 'note-too-long' })
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { error: 'note-invalid' })
  .optional()
  .transform((value) => value || undefined);

const reasonFields = <const R extends readonly [string, ...string[]]>(reasons: R) => ({
  course: courseSlugSchema,
  reason: z.enum(reasons, { error: 'reason-invalid' }),
  note,
});
/** `other` says nothing by itself: it needs a note. */
const noteForOther = [(form: { reason: string; note?: string }) => form.reason !== 'other' || form.note !== undefined, { error: 'note-missing' }] as const;

const grantForm = z.object(reasonFields(GRANT_REASONS)).refine(...noteForOther);
const revokeForm = z.object(reasonFields(REVOKE_REASONS)).refine(...noteForOther);
/** The members page's grant: the same fields, and the email instead of a member's page. */
const grantToEmailForm = z.object({ email: emailSchema, ...reasonFields(GRANT_REASONS) }).refine(...noteForOther);

function problem(t: Texts, code: string): string {
  const problems: Record<string, string> = t.admin.problems;
  return problems[code] ?? t.admin.formProblem;
}

export type MemberAction = 'grant' | 'revoke' | 'password-email' | 'sign-out';

/** Runs one action on member `userId`; null when there is no such member (the caller answers 404). */
export async function memberAction(
  ctx: AppContext,
  client: Client,
  input: { action: MemberAction; userId: number; fields: Record<string, unknown>; admin: { id: number }; url: URL },
): Promise<Response | null> {
  const member = await getMemberDetail(ctx.db, input.userId);
  if (!member) return null;
  const actor: AdminActor = { userId: input.admin.id, via: 'web' };
  const page = `/admin/members/${member.id}`;
  const back = (notice: string) => redirect(`${page}?notice=${notice}`);
  const refuse = (message: (t: Texts) => string) => badRequest(ctx, input.url, 'members', message, page);

  if (input.action === 'grant' || input.action === 'revoke') {
    const form = parseForm(input.action === 'grant' ? grantForm : revokeForm, input.fields);
    if (!form.ok) return refuse((t) => problem(t, form.error));
    const { course, reason, note } = form.data;
    const request = { email: member.email, course, reason, note, actor };
    const result = input.action === 'grant' ? await grantCourse(ctx, request) : await revokeCourse(ctx, request);
    switch (result.kind) {
      case 'granted':
      case 'revoked':
        ctx.log.info(`admin.${input.action}`, { adminId: input.admin.id, userId: member.id, course });
        return back(result.kind);
      case 'already-owned':
      case 'not-owned':
        return back(result.kind);
      case 'unknown-course':
        return refuse((t) => t.admin.noSuchCourse);
      case 'invalid':
        return refuse((t) => problem(t, result.problem));
      case 'unknown-user':
        return null;
    }
  }

  if (input.action === 'sign-out') {
    const result = await signOutMember(ctx, { userId: member.id, actor });
    if (result.kind === 'unknown-user') return null;
    ctx.log.info('admin.sign-out', { adminId: input.admin.id, userId: member.id });
    return back('signed-out');
  }

  // The daily mail cap of every address holds here too, so that a page left open and reposted
  // (or a careless script) cannot flood a member's inbox; the admin is told instead of a silence.
  const now = ctx.clock.now();
  const wait = await checkRateLimit(ctx.db, 'reset', { ip: client.address }, now);
  if (wait || (await isMailCapped(ctx, member.email, { userId: member.id, purpose: 'admin-password-email' }))) return redirect(`${page}?error=rate-limited`);
  if (!(await sendPasswordLink(ctx, client, member.id, actor))) return null;
  return back('password-email-sent');
}

/**
 * Mails a member a link that sets their password: a reset link when they have one, else the
 * longer-lived set-password link a purchase sends. False when there is no such member.
 */
async function sendPasswordLink(ctx: AppContext, client: Client, userId: number, actor: AdminActor): Promise<boolean> {
  const issued = await issuePasswordLink(ctx, {
    userId,
    actor,
    lifetimeMs: (hasPassword) => (hasPassword ? TOKEN_LIFETIME_MS.reset : SET_PASSWORD_LINK_MS),
  });
  if (issued.kind === 'unknown-user') return false;
  const siteName = await siteNameOf(ctx);
  const message = issued.hasPassword
    ? passwordResetMessage({
        t: await messagesOf(ctx),
        to: issued.email,
        url: new URL(`/reset?token=${issued.token}`, ctx.config.siteUrl).href,
        siteName,
        minutes: issued.lifetimeMs / 60_000,
      })
    : setPasswordMessage({
        t: await messagesOf(ctx),
        to: issued.email,
        url: new URL(`/reset?token=${issued.token}&welcome=1`, ctx.config.siteUrl).href,
        siteName,
        days: issued.lifetimeMs / 86_400_000,
      });
  sendAfterResponse(ctx, client, message, { userId: issued.userId, purpose: 'admin-password-email' });
  return true;
}

/**
 * A course given to an email from the members page. With no account of that email, the grant
 * creates one without a password (as `npm run admin -- grant --create` does) and its owner is
 * mailed the set-password link a guest purchase sends, so that they learn of the course and can
 * sign in: only that mailed link reaches the new account. An existing member is granted as from
 * their own page. Either way the answer is the member's page with a notice.
 */
export async function grantToEmail(
  ctx: AppContext,
  client: Client,
  input: { fields: Record<string, unknown>; admin: { id: number }; url: URL },
): Promise<Response> {
  const refuse = (message: (t: Texts) => string) => badRequest(ctx, input.url, 'members', message, '/admin/members');
  const form = parseForm(grantToEmailForm, input.fields);
  if (!form.ok) return refuse((t) => problem(t, form.error));
  const { email, course, reason, note } = form.data;
  const actor: AdminActor = { userId: input.admin.id, via: 'web' };
  const result = await grantCourse(ctx, { email, course, reason, note, actor, create: true });
  switch (result.kind) {
    case 'granted': {
      ctx.log.info('admin.grant', { adminId: input.admin.id, userId: result.userId, course, createdUser: result.createdUser });
      if (!result.createdUser) return redirect(`/admin/members/${result.userId}?notice=granted`);
      await sendPasswordLink(ctx, client, result.userId, actor);
      return redirect(`/admin/members/${result.userId}?notice=granted-new-account`);
    }
    case 'already-owned':
      return redirect(`/admin/members/${result.userId}?notice=already-owned`);
    case 'unknown-course':
      return refuse((t) => t.admin.noSuchCourse);
    case 'invalid':
      return refuse((t) => problem(t, result.problem));
    case 'unknown-user':
      // Not with `create`: the account is made in the grant's own batch.
      throw new Error(`grantCourse with create answered unknown-user for ${result.email}`);
  }
}
