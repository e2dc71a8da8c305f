// A visitor that behaves like a browser for our forms: it keeps cookies, sends its Origin on
// posts, and does not follow redirects (tests look at each 303).
export type Visitor = {
  cookies: Map<string, string>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(
    path: string,
    fields: Record<string, string | string[]> | string | FormData,
    options?: { origin?: string | null; headers?: Record<string, string> },
  ): Promise<Response>;
  /** The value of a cookie as it would be sent, or undefined. */
  cookie(name: string): string | undefined;
};

/**
 * `cookies`: another visitor's, for the same browser on another server (several app servers).
 * `send`: how requests travel, when not by the global fetch (through Caddy: RunningCaddy.fetchFrom).
 */
export function createVisitor(base: string, cookies = new Map<string, string>(), send: typeof fetch = fetch): Visitor {
  const remember = (response: Response) => {
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (/max-age=0/i.test(header) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  };
  const cookieHeader = (): Record<string, string> => (cookies.size ? { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') } : {});
  return {
    cookies,
    cookie: (name) => cookies.get(name),
    async get(path, headers = {}) {
      return remember(await send(new URL(path, base), { redirect: 'manual', headers: { ...cookieHeader(), ...headers } }));
    },
    async post(path, fields, options = {}) {
      let body: string | FormData;
      const headers: Record<string, string> = { ...cookieHeader() };
      if (fields instanceof FormData) body = fields;
      else if (typeof fields === 'string') {
        body = fields;
        headers['content-type'] = 'application/x-www-form-urlencoded';
      } else {
        const params = new URLSearchParams();
        for (const [name, value] of Object.entries(fields)) for (const item of [value].flat()) params.append(name, item);
        body = params.toString();
        headers['content-type'] = 'application/x-www-form-urlencoded';
      }
      const origin = options.origin === undefined ? new URL(base).origin : options.origin;
      if (origin !== null) headers.origin = origin;
      return remember(await send(new URL(path, base), { method: 'POST', redirect: 'manual', body, headers: { ...headers, ...options.headers } }));
    },
  };
}
