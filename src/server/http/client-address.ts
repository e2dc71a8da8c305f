// Who sent a request, when a reverse proxy may stand in between. X-Forwarded-For is believed only
// when the connection comes from a proxy named in TRUST_PROXY, and then only up to the first
// address that proxy did not add itself: anything to its left was written by the client.

/** `::ffff:127.0.0.1` (IPv4 on a dual-stack socket) is 127.0.0.1. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
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
