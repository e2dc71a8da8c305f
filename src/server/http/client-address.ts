// Who sent a request, when a reverse proxy may stand in between. X-Forwarded-For is believed only
// when the connection comes from a proxy named in TRUST_PROXY, and then only up to the first
// address that proxy did not add itself: anything to its left was written by the client.

/** `::ffff:127.0.0.1` (IPv4 on a dual-stack socket) is 127.0.0.1. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail counts as two), or null. */
function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/%.*$/, '').replace(/^\[|\]$/g, '');
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const bytes = v4.slice(2).map(Number);
    if (bytes.some((byte) => byte > 255)) return null;
    text = `${v4[1]}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  return groups.map((group) => parseInt(group, 16));
}

/**
 * Whom a rate limit counts: an IPv4 client by its address, an IPv6 client by its /64, the
 * smallest block a provider gives one customer (anyone holding a /64 picks any of its 2^64
 * addresses at will). IPv4 inside IPv6 (::ffff:a.b.c.d, also written in hex) is IPv4.
 */
export function rateLimitSubjectOf(address: string): string {
  const normalised = normaliseAddress(address);
  if (!normalised.includes(':')) return normalised;
  const groups = ipv6Groups(normalised);
  if (!groups) return normalised;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy.
 */
export function clientAddressOf(peer: string, forwardedFor: string | null, trustProxy: readonly string[]): string {
  const from = normaliseAddress(peer);
  const trusted = new Set(trustProxy.map(normaliseAddress));
  if (!trusted.has(from) || !forwardedFor) return from;
  const hops = forwardedFor.split(',').map(normaliseAddress).filter(Boolean);
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index]!;
    if (!trusted.has(hop)) return /^[0-9a-f:.]{2,45}$/.test(hop) ? hop : from;
  }
  return hops[0] ?? from;
}

/** Whether the visitor reached the proxy over HTTPS, as a trusted proxy says. */
export function forwardedHttps(peer: string, forwardedProto: string | null, trustProxy: readonly string[]): boolean {
  return trustProxy.map(normaliseAddress).includes(normaliseAddress(peer)) && forwardedProto?.split(',')[0]?.trim().toLowerCase() === 'https';
}
