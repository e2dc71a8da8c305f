// Where to send someone after a form: only a path on this site. Anything that a browser could
// read as another host (`//evil.com`, `/\evil.com`, `https://evil.com`, their encoded and
// whitespace-padded variants) falls back to the default.

const BASE = 'https://site.invalid';

export function safeNext(value: unknown, fallback = '/account'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) return fallback;
  // Browsers strip tabs and newlines from URLs and treat `\` as `/`; refuse rather than guess.
  if (!value.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(value)) return fallback;
  let decoded = value;
  try {
    // Decoded twice: a path that is a host once decoded is as suspicious as one that is raw.
    decoded = decodeURIComponent(decodeURIComponent(value));
  } catch {
    return fallback;
  }
  if (decoded.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(decoded) || decoded.slice(1).trimStart().startsWith('/')) return fallback;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return fallback;
  }
  // Dot segments can still turn into `//host` once resolved (`/..//evil.com`).
  if (url.origin !== BASE || url.pathname.startsWith('//')) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
