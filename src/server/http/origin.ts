// The cross-site form check, in the core so that every runtime has it. It is the only one: Astro's
// checkOrigin is off because behind a TLS-terminating proxy it sees http:// and refuses every form.
import type { Config } from '../config.ts';

/**
 * True when a state-changing request comes from a page of this site: its Origin is the site's
 * configured origin or the origin the request was addressed to. A missing Origin is refused:
 * every browser that supports SameSite sends it on POST.
 */
export function isSameOrigin(request: Request, config: Config): boolean {
  const origin = request.headers.get('origin');
  if (!origin || origin === 'null') return false;
  return origin === config.siteUrl.origin || origin === new URL(request.url).origin;
}
