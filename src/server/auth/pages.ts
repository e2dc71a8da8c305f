// The account pages answered at request time: sign in, create an account, reset a password,
// choose or change a password. Each is a GET handler rendered into the site's layout; their forms
// post to the endpoints under /api/auth/.
import { passwordToConfirm } from './confirm-email.ts';
import type { AppContext, Client } from '../context.ts';
import { formMessages } from '../http/form-messages.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { redirect } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { takeTypedEmail } from '../http/typed-email.ts';
import { messagesOf } from '../i18n/index.ts';
import { MIN_PASSWORD_LENGTH } from './credentials.ts';
import { getMember, requireMember, signInPath } from './session.ts';
import { getTokenUser } from './tokens.ts';

/** Who asks, and the session cookie to renew or clear on whatever the page answers. */
function nextOf(url: URL): string | null {
  const next = url.searchParams.get('next');
  return next === null ? null : safeNext(next);
}

export async function handleLoginPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const { member, setCookies } = await getMember(request, ctx);
  const typed = takeTypedEmail(request, ctx.config.siteUrl);
  setCookies.push(...typed.setCookies);
  const next = nextOf(url);
  const token = url.searchParams.get('token');
  // A sign-in link from an email lands here; the visitor confirms with a button (a POST), so that
  // mail scanners following the link do not use it up.
  const linkUser = token ? await getTokenUser(ctx, token, 'link', ctx.clock.now()) : null;
  if (member && !token) return redirect(next ?? '/account', setCookies);
  const nextField = next && html`<input type="hidden" name="next" value="${next}" />`;
  const signupHref = next ? `/signup?next=${encodeURIComponent(next)}` : '/signup';
  const form = linkUser
    ? html`<form class="form" method="post" action="/api/auth/link">
        <input type="hidden" name="token" value="${token}" />${nextField}
        <p>${t.auth.signInAs(linkUser.email)}</p>
        <button class="button" type="submit">${t.auth.signIn}</button>
      </form>`
    : html`<form class="form" method="post" action="/api/auth/login">${nextField}
          <label for="email">${t.auth.email}</label>
          <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" value="${typed.email}" />
          <label for="password">${t.auth.password}</label>
          <input id="password" type="password" name="password" autocomplete="current-password" required />
          <button class="button" type="submit">${t.auth.signIn}</button>
        </form>
        <p>${t.auth.forgotNewHere(signupHref)}</p>
        <details class="link-sign-in"${url.searchParams.get('mode') === 'link' ? html` open` : ''}>
          <summary>${t.auth.linkInstead}</summary>
          <form class="form" method="post" action="/api/auth/link-request">${nextField}
            <label for="link-email">${t.auth.email}</label>
            <input id="link-email" type="email" name="email" autocomplete="email" required maxlength="254" value="${typed.email}" />
            <button class="button secondary" type="submit">${t.auth.sendLink}</button>
          </form>
        </details>`;
  return pageResponse(ctx, {
    title: t.auth.signInTitle,
    description: t.auth.signInDescription,
    setCookies,
    main: html`<section class="wrap auth">
    <h1>${t.auth.signInTitle}</h1>
    ${formMessages(t, url)}
    ${token && !linkUser && html`<p class="form-error" role="alert">${t.auth.linkExpired}</p>`}
    ${form}
  </section>`,
  });
}

export async function handleSignupPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const { member, setCookies } = await getMember(request, ctx);
  const typed = takeTypedEmail(request, ctx.config.siteUrl);
  setCookies.push(...typed.setCookies);
  const next = nextOf(url);
  if (member) return redirect(next ?? '/account', setCookies);
  const loginHref = next ? signInPath(next) : '/login';
  // Sign-up answers every address with `check-email` (sign-up.ts): the page then says only that,
  // without the form, so that nobody thinks the account is ready or signs up twice.
  if (url.searchParams.get('notice') === 'check-email') {
    return pageResponse(ctx, {
      title: t.auth.checkEmailTitle,
      description: t.auth.checkEmailDescription,
      setCookies,
      main: html`<section class="wrap auth">
    <h1>${t.auth.checkEmailTitle}</h1>
    ${formMessages(t, url)}
    <p>${t.auth.checkEmailHelp(loginHref)}</p>
  </section>`,
    });
  }
  return pageResponse(ctx, {
    title: t.auth.signUpTitle,
    description: t.auth.signUpDescription,
    setCookies,
    main: html`<section class="wrap auth">
    <h1>${t.auth.signUpTitle}</h1>
    ${formMessages(t, url)}
    <form class="form" method="post" action="/api/auth/signup">${next && html`<input type="hidden" name="next" value="${next}" />`}
      <label for="email">${t.auth.email}</label>
      <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" value="${typed.email}" />
      <label for="password">${t.auth.password}</label>
      <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
      <p class="hint" id="password-hint">${t.auth.passwordHint(MIN_PASSWORD_LENGTH)}</p>
      <button class="button" type="submit">${t.auth.createAccount}</button>
    </form>
    <p>${t.auth.haveAccount(loginHref)}</p>
  </section>`,
  });
}

export async function handleResetPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const { setCookies } = await getMember(request, ctx);
  const typed = takeTypedEmail(request, ctx.config.siteUrl);
  setCookies.push(...typed.setCookies);
  const token = url.searchParams.get('token');
  const tokenUser = token ? await getTokenUser(ctx, token, 'reset', ctx.clock.now()) : null;
  // The link mailed to a new buyer (or a member an admin added) is for an account without a
  // password: nothing is reset, one is chosen, and the "no password yet" banner would only repeat it.
  const choosing = tokenUser !== null && tokenUser.passwordHash === null;
  const title = choosing ? t.auth.chooseYourPasswordTitle : t.auth.resetTitle;
  const body = tokenUser
    ? html`<form class="form" method="post" action="/api/auth/reset"${choosing && html` data-choosing-password`}>
        <input type="hidden" name="token" value="${token}" />
        <p>${choosing ? t.auth.chooseFor(tokenUser.email) : t.auth.chooseNewFor(tokenUser.email)}</p>
        <label for="password">${t.auth.newPassword}</label>
        <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
        <p class="hint" id="password-hint">${t.auth.atLeast(MIN_PASSWORD_LENGTH)}</p>
        <button class="button" type="submit">${choosing ? t.auth.setPassword : t.auth.setNewPassword}</button>
      </form>`
    : html`${token && html`<p class="form-error" role="alert">${t.auth.linkInvalid}</p>`}
        <form class="form" method="post" action="/api/auth/reset-request">
          <p>${t.auth.resetExplain}</p>
          <label for="email">${t.auth.email}</label>
          <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" value="${typed.email}" />
          <button class="button" type="submit">${t.auth.sendResetLink}</button>
        </form>
        <p><a href="/login">${t.auth.backToSignIn}</a></p>`;
  return pageResponse(ctx, {
    title,
    description: t.auth.resetDescription,
    setCookies,
    // Keep the reset link out of the Referer of anything this page loads from or links to
    // elsewhere: other sites get no Referer at all. Not `no-referrer`: under it browsers send
    // `Origin: null` with the page's own form posts, which the cross-site check rightly refuses,
    // so no one could reset a password or choose one from the emailed link.
    headers: { 'Referrer-Policy': 'same-origin' },
    main: html`<section class="wrap auth">
    <h1>${title}</h1>
    ${formMessages(t, url)}
    ${body}
  </section>`,
  });
}

/** GET /verify?token=: the page of the confirmation link mailed at sign-up (confirm-email.ts). */
export async function handleVerifyPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const { setCookies } = await getMember(request, ctx);
  const next = nextOf(url);
  const token = url.searchParams.get('token');
  const tokenUser = token ? await getTokenUser(ctx, token, 'verify', ctx.clock.now()) : null;
  const loginHref = next ? signInPath(next) : '/login';
  const asksPassword = tokenUser !== null && passwordToConfirm(tokenUser) !== null;
  const body = tokenUser
    ? html`<form class="form" method="post" action="/api/auth/verify">
        <input type="hidden" name="token" value="${token}" />${next && html`<input type="hidden" name="next" value="${next}" />`}
        <p>${t.auth.confirmThat(tokenUser.email, asksPassword)}</p>
        ${
          asksPassword &&
          html`<label for="password">${t.auth.password}</label>
        <input id="password" type="password" name="password" autocomplete="current-password" required />`
        }
        <button class="button" type="submit">${t.auth.confirmAddress}</button>
      </form>
      <p>${t.auth.notYours}</p>`
    : html`<p class="form-error" role="alert">${t.auth.verifyExpired}</p>
        <p><a href="${loginHref}">${t.auth.signIn}</a></p>`;
  return pageResponse(ctx, {
    title: t.auth.verifyTitle,
    description: t.auth.verifyDescription,
    setCookies,
    // As on the reset page: the token stays out of any other site's Referer.
    headers: { 'Referrer-Policy': 'same-origin' },
    main: html`<section class="wrap auth">
    <h1>${t.auth.verifyTitle}</h1>
    ${formMessages(t, url)}
    ${body}
  </section>`,
  });
}

export async function handlePasswordPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const visitor = await requireMember(request, ctx, '/account/password');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const title = member.hasPassword ? t.auth.changePasswordTitle : t.auth.choosePasswordTitle;
  // The first password of an account whose address nobody has proven comes only through a mailed
  // link: being signed in (by the success page) is no proof of the address.
  if (!member.hasPassword && !member.emailVerified) {
    return pageResponse(ctx, {
      title,
      description: t.auth.passwordDescription,
      setCookies,
      main: html`<section class="wrap auth">
    <h1>${title}</h1>
    ${formMessages(t, url)}
    <p>${t.auth.createdByPurchase}</p>
    <form class="form" method="post" action="/api/auth/verify-request">
      <button class="button" type="submit">${t.auth.emailMeSetLink}</button>
    </form>
    <p><a href="/account">${t.auth.backToAccount}</a></p>
  </section>`,
    });
  }
  return pageResponse(ctx, {
    title,
    description: t.auth.passwordDescription,
    setCookies,
    main: html`<section class="wrap auth">
    <h1>${title}</h1>
    ${formMessages(t, url)}
    ${!member.hasPassword && html`<p>${t.auth.noPasswordYet}</p>`}
    <form class="form" method="post" action="/api/auth/password"${!member.hasPassword && html` data-choosing-password`}>
      ${
        member.hasPassword &&
        html`<label for="current-password">${t.auth.currentPassword}</label>
      <input id="current-password" type="password" name="current_password" autocomplete="current-password" required />`
      }
      <label for="password">${t.auth.newPassword}</label>
      <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
      <p class="hint" id="password-hint">${t.auth.otherDevicesHint(MIN_PASSWORD_LENGTH)}</p>
      <button class="button" type="submit">${member.hasPassword ? t.auth.changePassword : t.auth.setPassword}</button>
    </form>
    <p><a href="/account">${t.auth.backToAccount}</a>${member.hasPassword && html` · <a href="/reset">${t.auth.forgotCurrent}</a>`}</p>
  </section>`,
  });
}
