// The account pages answered at request time: sign in, create an account, reset a password,
// choose or change a password. Each is a GET handler rendered into the site's layout; their forms
// post to the endpoints under /api/auth/.
import type { AppContext, Client } from '../context.ts';
import { formMessages } from '../http/form-messages.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { redirect } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { MIN_PASSWORD_LENGTH } from './credentials.ts';
import { getMember, requireMember, signInPath } from './session.ts';
import { getTokenUser } from './tokens.ts';

/** Who asks, and the session cookie to renew or clear on whatever the page answers. */
function nextOf(url: URL): string | null {
  const next = url.searchParams.get('next');
  return next === null ? null : safeNext(next);
}

export async function handleLoginPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const url = new URL(request.url);
  const { member, setCookies } = await getMember(request, ctx);
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
        <p>Sign in as <strong>${linkUser.email}</strong>?</p>
        <button class="button" type="submit">Sign in</button>
      </form>`
    : html`<form class="form" method="post" action="/api/auth/login">${nextField}
          <label for="email">Email</label>
          <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" />
          <label for="password">Password</label>
          <input id="password" type="password" name="password" autocomplete="current-password" required />
          <button class="button" type="submit">Sign in</button>
        </form>
        <p><a href="/reset">Forgot your password?</a> · New here? <a href="${signupHref}">Create an account</a>.</p>
        <details class="link-sign-in"${url.searchParams.get('mode') === 'link' ? html` open` : ''}>
          <summary>Email me a sign-in link instead</summary>
          <form class="form" method="post" action="/api/auth/link-request">${nextField}
            <label for="link-email">Email</label>
            <input id="link-email" type="email" name="email" autocomplete="email" required maxlength="254" />
            <button class="button secondary" type="submit">Send me a link</button>
          </form>
        </details>`;
  return pageResponse(ctx, {
    title: 'Sign in',
    description: 'Sign in to read your courses.',
    setCookies,
    main: html`<section class="wrap auth">
    <h1>Sign in</h1>
    ${formMessages(url)}
    ${token && !linkUser && html`<p class="form-error" role="alert">This sign-in link has expired or has been used already. Ask for a new one below.</p>`}
    ${form}
  </section>`,
  });
}

export async function handleSignupPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const url = new URL(request.url);
  const { member, setCookies } = await getMember(request, ctx);
  const next = nextOf(url);
  if (member) return redirect(next ?? '/account', setCookies);
  const loginHref = next ? signInPath(next) : '/login';
  // Sign-up answers every address with `check-email` (sign-up.ts): the page then says only that,
  // without the form, so that nobody thinks the account is ready or signs up twice.
  if (url.searchParams.get('notice') === 'check-email') {
    return pageResponse(ctx, {
      title: 'Check your email',
      description: 'Confirm your email address to finish creating your account.',
      setCookies,
      main: html`<section class="wrap auth">
    <h1>Check your email</h1>
    ${formMessages(url)}
    <p>No email after a few minutes? Look in your spam folder, or <a href="${loginHref}">sign in</a> with your password and ask for a new link from your account page.</p>
  </section>`,
    });
  }
  return pageResponse(ctx, {
    title: 'Create an account',
    description: 'Create an account to buy and read courses.',
    setCookies,
    main: html`<section class="wrap auth">
    <h1>Create an account</h1>
    ${formMessages(url)}
    <form class="form" method="post" action="/api/auth/signup">${next && html`<input type="hidden" name="next" value="${next}" />`}
      <label for="email">Email</label>
      <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" />
      <label for="password">Password</label>
      <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
      <p class="hint" id="password-hint">At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good one.</p>
      <button class="button" type="submit">Create account</button>
    </form>
    <p>Already have an account? <a href="${loginHref}">Sign in</a>.</p>
  </section>`,
  });
}

export async function handleResetPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const url = new URL(request.url);
  const { setCookies } = await getMember(request, ctx);
  const token = url.searchParams.get('token');
  const tokenUser = token ? await getTokenUser(ctx, token, 'reset', ctx.clock.now()) : null;
  const body = tokenUser
    ? html`<form class="form" method="post" action="/api/auth/reset">
        <input type="hidden" name="token" value="${token}" />
        <p>Choose a new password for <strong>${tokenUser.email}</strong>.</p>
        <label for="password">New password</label>
        <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
        <p class="hint" id="password-hint">At least ${MIN_PASSWORD_LENGTH} characters.</p>
        <button class="button" type="submit">Set new password</button>
      </form>`
    : html`${token && html`<p class="form-error" role="alert">This link has expired or has been used already. Ask for a new one below.</p>`}
        <form class="form" method="post" action="/api/auth/reset-request">
          <p>Enter the email of your account and we will send you a link to choose a new password.</p>
          <label for="email">Email</label>
          <input id="email" type="email" name="email" autocomplete="email" required maxlength="254" />
          <button class="button" type="submit">Send reset link</button>
        </form>
        <p><a href="/login">Back to sign in</a></p>`;
  return pageResponse(ctx, {
    title: 'Reset your password',
    description: 'Choose a new password for your account.',
    setCookies,
    // Keep the reset link out of the Referer of anything this page loads from or links to
    // elsewhere: other sites get no Referer at all. Not `no-referrer`: under it browsers send
    // `Origin: null` with the page's own form posts, which the cross-site check rightly refuses,
    // so no one could reset a password or choose one from the emailed link.
    headers: { 'Referrer-Policy': 'same-origin' },
    main: html`<section class="wrap auth">
    <h1>Reset your password</h1>
    ${formMessages(url)}
    ${body}
  </section>`,
  });
}

/** GET /verify?token=: the page of the confirmation link mailed at sign-up (confirm-email.ts). */
export async function handleVerifyPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const url = new URL(request.url);
  const { setCookies } = await getMember(request, ctx);
  const next = nextOf(url);
  const token = url.searchParams.get('token');
  const tokenUser = token ? await getTokenUser(ctx, token, 'verify', ctx.clock.now()) : null;
  const loginHref = next ? signInPath(next) : '/login';
  const body = tokenUser
    ? html`<form class="form" method="post" action="/api/auth/verify">
        <input type="hidden" name="token" value="${token}" />${next && html`<input type="hidden" name="next" value="${next}" />`}
        <p>Confirm that <strong>${tokenUser.email}</strong> is your address${tokenUser.passwordHash !== null && html`: enter the password you chose when you created the account`}.</p>
        ${tokenUser.passwordHash !== null && html`<label for="password">Password</label>
        <input id="password" type="password" name="password" autocomplete="current-password" required />`}
        <button class="button" type="submit">Confirm and sign in</button>
      </form>
      <p>Did not create this account, or forgot its password? <a href="/reset">Choose a new password</a>: the account becomes yours, and whoever created it is signed out.</p>`
    : html`<p class="form-error" role="alert">This link has expired or has been used already. Sign in and ask for a new one from your account page.</p>
        <p><a href="${loginHref}">Sign in</a></p>`;
  return pageResponse(ctx, {
    title: 'Confirm your email address',
    description: 'Confirm the email address of your account.',
    setCookies,
    // As on the reset page: the token stays out of any other site's Referer.
    headers: { 'Referrer-Policy': 'same-origin' },
    main: html`<section class="wrap auth">
    <h1>Confirm your email address</h1>
    ${formMessages(url)}
    ${body}
  </section>`,
  });
}

export async function handlePasswordPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const url = new URL(request.url);
  const visitor = await requireMember(request, ctx, '/account/password');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const title = member.hasPassword ? 'Change your password' : 'Choose a password';
  // The first password of an account whose address nobody has proven comes only through a mailed
  // link: being signed in (by the success page) is no proof of the address.
  if (!member.hasPassword && !member.emailVerified) {
    return pageResponse(ctx, {
      title,
      description: 'The password of your account.',
      setCookies,
      main: html`<section class="wrap auth">
    <h1>${title}</h1>
    ${formMessages(url)}
    <p>Your account was created when you bought a course. To choose a password, use the link in the email we sent you after your purchase, or get a new link:</p>
    <form class="form" method="post" action="/api/auth/verify-request">
      <button class="button" type="submit">Email me a link to choose a password</button>
    </form>
    <p><a href="/account">Back to your account</a></p>
  </section>`,
    });
  }
  return pageResponse(ctx, {
    title,
    description: 'The password of your account.',
    setCookies,
    main: html`<section class="wrap auth">
    <h1>${title}</h1>
    ${formMessages(url)}
    ${!member.hasPassword && html`<p>Your account has no password yet. Choose one to sign in on any device.</p>`}
    <form class="form" method="post" action="/api/auth/password">
      ${member.hasPassword && html`<label for="current-password">Current password</label>
      <input id="current-password" type="password" name="current_password" autocomplete="current-password" required />`}
      <label for="password">New password</label>
      <input id="password" type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" aria-describedby="password-hint" />
      <p class="hint" id="password-hint">At least ${MIN_PASSWORD_LENGTH} characters. Your other devices will be signed out.</p>
      <button class="button" type="submit">${member.hasPassword ? 'Change password' : 'Set password'}</button>
    </form>
    <p><a href="/account">Back to your account</a>${member.hasPassword && html` · <a href="/reset">Forgot your current password?</a>`}</p>
  </section>`,
  });
}
