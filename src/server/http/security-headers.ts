// The headers every answer of the site carries, static files included: behind Caddy, Caddy adds
// them (deploy/Caddyfile, the same values; a test compares the two); on Workers, the Worker adds
// them to what it answers and `npm run cf:build` writes them into the static assets' `_headers`
// file, which Cloudflare applies to every file it serves without the Worker.
//
// The Content Security Policy is what the pages need, checked in Chromium by tests/deploy.test.ts:
// the one script is an external module (JSON-LD blocks are data, never run); Shiki colours code
// with style attributes, never <style> elements; the buy form's answer is a redirect to Stripe Checkout.
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
};

/** A page may ask for a stricter referrer policy than the default (the reset page does); it keeps it. */
const KEPT_WHEN_SET = new Set(['referrer-policy']);

/**
 * The headers for a site whose checkout page is at `checkoutOrigin` besides Stripe's: the
 * development stand-in (STRIPE_API_BASE, refused in production). The buy form posts to the site,
 * which redirects to the checkout page, and a browser holds that redirect to the form's
 * `form-action`.
 */
export function securityHeaders(checkoutOrigin?: string): Readonly<Record<string, string>> {
  if (!checkoutOrigin) return SECURITY_HEADERS;
  const policy = CONTENT_SECURITY_POLICY.replace(
    "form-action 'self' https://checkout.stripe.com",
    `form-action 'self' https://checkout.stripe.com ${checkoutOrigin}`,
  );
  return { ...SECURITY_HEADERS, 'Content-Security-Policy': policy };
}

/** `response` with the security headers; a copy when its headers cannot be changed (a fetched response). */
export function withSecurityHeaders(response: Response, checkoutOrigin?: string): Response {
  const headers = securityHeaders(checkoutOrigin);
  let answer = response;
  try {
    apply(answer.headers, headers);
  } catch {
    answer = new Response(response.body, response);
    apply(answer.headers, headers);
  }
  return answer;
}

function apply(headers: Headers, values: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (KEPT_WHEN_SET.has(name.toLowerCase()) && headers.has(name)) continue;
    headers.set(name, value);
  }
}

/** Cache rules for built files, as Caddy gives them: hashed names forever, the rest checked at each use. */
export const STATIC_CACHE_RULES: ReadonlyArray<{ pattern: string; cacheControl: string }> = [
  { pattern: '/_astro/*', cacheControl: 'public, max-age=31536000, immutable' },
  { pattern: '/media/*', cacheControl: 'public, max-age=31536000, immutable' },
];

/**
 * The `_headers` file of the static assets (Cloudflare's format: a path pattern, then indented
 * `Name: value` lines). Cloudflare applies it to the files it serves, not to the Worker's answers.
 */
export function staticHeadersFile(checkoutOrigin?: string): string {
  const lines = ['# Written by `npm run cf:build` from src/server/http/security-headers.ts: do not edit.', '/*'];
  for (const [name, value] of Object.entries(securityHeaders(checkoutOrigin))) lines.push(`  ${name}: ${value}`);
  for (const rule of STATIC_CACHE_RULES) lines.push(rule.pattern, `  Cache-Control: ${rule.cacheControl}`);
  return `${lines.join('\n')}\n`;
}
