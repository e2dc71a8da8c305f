// Everything under /admin/, for every runtime: the Node adapter (src/pages/admin/[...path].ts) and
// the Cloudflare Pages Function call this one handler. Only an admin learns that the pages exist:
// anyone else, for any path and any method, gets the site's "page not found", after no more work
// than reading their session. The role is read on every request, so a demotion applies at once.
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import type { AppContext, Client } from '../context.ts';
import { getMember } from '../auth/session.ts';
import { acceptFormPost } from '../http/form.ts';
import { refusePageMethod } from '../http/page-shell.ts';
import { grantToEmail, memberAction, type MemberAction } from './actions.ts';
import { membersCsv, purchasesCsv } from './csv.ts';
import { listPurchases, listUsers } from './queries.ts';
import {
  auditPage,
  coursePage,
  coursesPage,
  dashboardPage,
  memberPage,
  memberQuery,
  membersPage,
  purchaseFilter,
  purchaseQuery,
  purchasesPage,
  queryFields,
} from './pages.ts';
import { ADMIN_HEADERS, badRequest, day, notFound } from './views.ts';
import { messagesOf } from '../i18n/index.ts';

const MEMBER_ID = /^[1-9]\d{0,15}$/;
const ACTIONS = new Set<MemberAction>(['grant', 'revoke', 'password-email', 'sign-out']);

/** The admin of the request, or null for everyone else (anonymous, a member, a dead session). */
async function getAdmin(request: Request, ctx: AppContext): Promise<{ id: number } | null> {
  const { member } = await getMember(request, ctx);
  return member?.role === 'admin' ? { id: member.id } : null;
}

function withAdminHeaders(response: Response): Response {
  // A redirect or a refusal made elsewhere (form.ts) is still an admin answer: never cached or indexed.
  for (const [name, value] of Object.entries(ADMIN_HEADERS)) response.headers.set(name, value);
  return response;
}

function csvResponse(body: string, name: string): Response {
  return new Response(body, {
    headers: { ...ADMIN_HEADERS, 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}"` },
  });
}

export async function handleAdmin(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const admin = await getAdmin(request, ctx);
  if (!admin) return notFound(ctx);
  return withAdminHeaders((await route(request, ctx, client, admin)) ?? (await notFound(ctx)));
}

/** The answer for an admin's request, or null for an address that has no page. */
async function route(request: Request, ctx: AppContext, client: Client, admin: { id: number }): Promise<Response | null> {
  const url = new URL(request.url);
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'admin') return null;
  const [section, id, action, ...rest] = parts.slice(1);
  if (rest.length > 0) return null;

  if (section === 'members' && id === 'grant' && action === undefined) {
    const fields = await acceptFormPost(request, ctx);
    if (fields instanceof Response) return fields;
    return grantToEmail(ctx, client, { fields, admin, url });
  }
  if (section === 'members' && id && action) {
    if (!MEMBER_ID.test(id) || !ACTIONS.has(action as MemberAction)) return null;
    const fields = await acceptFormPost(request, ctx);
    if (fields instanceof Response) return fields;
    return memberAction(ctx, client, { action: action as MemberAction, userId: Number(id), fields, admin, url });
  }
  if (action !== undefined) return null;

  const refused = refusePageMethod(request, await messagesOf(ctx));
  if (refused) return refused;
  switch (section) {
    case undefined:
      return dashboardPage(ctx, url);
    case 'members':
      return id === undefined ? membersPage(ctx, url) : MEMBER_ID.test(id) ? memberPage(ctx, url, Number(id)) : null;
    case 'members.csv': {
      if (id !== undefined) return null;
      const query = memberQuery.safeParse(queryFields(url));
      if (!query.success) return badRequest(ctx, url, 'members', (t) => t.admin.badSearch, '/admin/members');
      return csvResponse(
        membersCsv(await listUsers(ctx.db, { search: query.data.q || undefined }), query.data.excel ? 'excel-fr' : 'rfc4180'),
        `members-${day(ctx.clock.now())}.csv`,
      );
    }
    case 'purchases':
      return id === undefined ? purchasesPage(ctx, url) : null;
    case 'purchases.csv': {
      if (id !== undefined) return null;
      const query = purchaseQuery.safeParse(queryFields(url));
      if (!query.success) return badRequest(ctx, url, 'purchases', (t) => t.admin.badFilters, '/admin/purchases');
      return csvResponse(
        purchasesCsv(await listPurchases(ctx.db, purchaseFilter(query.data)), query.data.excel ? 'excel-fr' : 'rfc4180'),
        `purchases-${day(ctx.clock.now())}.csv`,
      );
    }
    case 'courses':
      return id === undefined ? coursesPage(ctx, url) : REQUEST_SLUG.test(id) ? coursePage(ctx, url, id) : null;
    case 'audit':
      return id === undefined ? auditPage(ctx, url) : null;
    default:
      return null;
  }
}
