// The admin's changes (POST): grant, revoke, a password email, sign out everywhere. Each is a form
// post that passed the origin check, is parsed by a schema (a bad one gets a 400 page and changes
// nothing), goes through the same core functions as `npm run admin` (effect and audit row in one
// batch), and answers 303 back to the member's page with a notice.
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { TOKEN_LIFETIME_MS } from '../auth/tokens.ts';
import { isMailCapped, sendAfterResponse } from '../email/mailer.ts';
import { passwordResetMessage, setPasswordMessage } from '../email/messages.ts';
import { parseForm } from '../http/form.ts';
import { redirect } from '../http/responses.ts';
import { SET_PASSWORD_LINK_MS } from '../payments/fulfil.ts';
import { courseSlugSchema, grantCourse, issuePasswordLink, revokeCourse, signOutMember, type AdminActor } from './members.ts';
import { GRANT_REASONS, REVOKE_REASONS } from './pages.ts';
import { getMemberDetail } from './reports.ts';
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

/** `other` says nothing by itself: it needs a note. */
function reasonForm<const R extends readonly [string, ...string[]]>(reasons: R) {
  return z
    .object({ course: courseSlugSchema, reason: z.enum(reasons, { error: 'reason-invalid' }), note })
    .refine((form) => form.reason !== 'other' || form.note !== undefined, { error: 'note-missing' });
}

const grantForm = reasonForm(GRANT_REASONS);
const revokeForm = reasonForm(REVOKE_REASONS);

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
  const issued = await issuePasswordLink(ctx, {
    userId: member.id,
    actor,
    lifetimeMs: (hasPassword) => (hasPassword ? TOKEN_LIFETIME_MS.reset : SET_PASSWORD_LINK_MS),
  });
  if (issued.kind === 'unknown-user') return null;
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
  return back('password-email-sent');
}
