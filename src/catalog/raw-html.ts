// Raw HTML in Markdown (books carry <a>, <img>, <span id> written by hand): the links, images and
// ids in it are checked and rewritten like their Markdown forms, so that an anchor or an image in
// raw HTML is neither unchecked nor broken in the built page. A tag scanner, not a parser: it reads
// the start tags of a fragment, which is all that authors' HTML needs here.

export type Attributes = Map<string, string | null>;
export type Tag = { name: string; attributes: Attributes /** Offset in the fragment. */; index: number };

const START_TAG = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/g;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function parseAttributes(text: string): Attributes {
  const attributes: Attributes = new Map();
  for (const match of text.matchAll(ATTRIBUTE)) {
    const value = match[2] ?? match[3] ?? match[4];
    attributes.set(match[1]!.toLowerCase(), value === undefined ? null : decodeEntities(value));
  }
  return attributes;
}

export function startTags(html: string): Tag[] {
  return [...html.matchAll(START_TAG)].map((m) => ({ name: m[1]!.toLowerCase(), attributes: parseAttributes(m[2] ?? ''), index: m.index }));
}

/** Every id a fragment defines (and the names of <a name>, which browsers also scroll to). */
export function idsIn(html: string): string[] {
  const ids: string[] = [];
  for (const tag of startTags(html)) {
    const id = tag.attributes.get('id');
    if (id) ids.push(id);
    const name = tag.attributes.get('name');
    if (tag.name === 'a' && name) ids.push(name);
  }
  return ids;
}

/**
 * Replaces the start tags for which `change` returns new attributes; the others are left as
 * written. `change` may await (an image to measure).
 */
export async function rewriteTags(html: string, change: (tag: Tag) => Promise<Attributes | null>): Promise<string> {
  const matches = [...html.matchAll(START_TAG)];
  const replacements = await Promise.all(matches.map((m) => change({ name: m[1]!.toLowerCase(), attributes: parseAttributes(m[2] ?? ''), index: m.index })));
  let out = '';
  let last = 0;
  matches.forEach((m, i) => {
    const attributes = replacements[i];
    if (!attributes) return;
    out += html.slice(last, m.index) + `<${m[1]}${serialise(attributes)}${m[3] ? ' /' : ''}>`;
    last = m.index + m[0].length;
  });
  return out + html.slice(last);
}

function serialise(attributes: Attributes): string {
  let out = '';
  for (const [name, value] of attributes) out += value === null ? ` ${name}` : ` ${name}="${escapeValue(value)}"`;
  return out;
}

function escapeValue(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|quot|lt|gt|apos);/gi, (whole, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return ({ amp: '&', quot: '"', lt: '<', gt: '>', apos: "'" } as Record<string, string>)[lower] ?? whole;
  });
}
