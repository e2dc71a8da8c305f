// The production settings the account tests run the server with: valid secrets, a fresh store,
// the SMTP sink, and a cheap password hash (configured, never a changed default).
export const TEST_SESSION_SECRET = 'test-secret-7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c8e';
export const TEST_SITE_URL = 'https://courses.test';
/** The session cookie's name on an https site without COOKIE_DOMAIN (src/server/auth/session.ts). */
export const SESSION_COOKIE = '__Host-session';

export function accountsEnv(options: { databaseUrl: string; smtpUrl: string }): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SITE_URL: TEST_SITE_URL,
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATABASE_URL: options.databaseUrl,
    SMTP_URL: options.smtpUrl,
    MAIL_FROM: 'Courses <courses@courses.test>',
    PASSWORD_ITERATIONS: '2000',
    // Production requires Stripe settings; these tests never reach Stripe.
    STRIPE_SECRET_KEY: 'sk_test_accounts_never_called',
    STRIPE_WEBHOOK_SECRET: 'whsec_accounts_never_called',
    // A staging site's permission: production refuses a test-mode key without it.
    STRIPE_ALLOW_TEST_MODE: 'true',
    LOG_LEVEL: 'warn',
  };
}

/** The path and query of the first link to the site in an email's text. */
export function linkIn(text: string): string {
  const match = /https:\/\/courses\.test(\/\S+)/.exec(text);
  if (!match) throw new Error(`no link in:\n${text}`);
  return match[1]!;
}
