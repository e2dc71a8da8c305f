// The author's interface: every front-matter key a course, lesson, section or the site may use.
// Unknown keys are errors, so a typo ("prive: 49") never silently does nothing.
import { z } from 'zod';
import { isCurrency } from '../server/money.ts';
import { DEFAULT_TAX_CODE, TAX_CODE } from '../server/payments/checkout-tax.ts';

/** The strict rule for slugs an author writes (folder and file names); requests are filtered by the looser REQUEST_SLUG. */
export const AUTHORED_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_SLUG_LENGTH = 64;

const text = (what: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be text`) })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} is longer than ${max} characters`);

const flag = (what: string) => z.boolean({ error: `${what} must be true or false` });

const currency = z
  .string({ error: 'currency must be a three-letter ISO 4217 code such as USD' })
  .transform((code) => code.trim().toUpperCase())
  .refine(isCurrency, { message: 'currency must be a three-letter ISO 4217 code such as USD, EUR or JPY' });

const relativeFile = (what: string) =>
  z
    .string({ error: `${what} must be a relative path such as ./cover.png` })
    .refine((path) => !/^([a-z]+:|\/)/i.test(path), `${what} must be a path relative to the file, such as ./cover.png`);

const SALE_ENDS_HELP =
  'sale_ends must be a date such as 2026-12-31 (the end of that day, UTC) or a date and time with its offset such as 2026-12-31T18:00:00+01:00';

/**
 * When a sale ends, in ms since the epoch (exclusive): a bare date means the whole of that day in
 * UTC, so its end is the next day's midnight UTC. A time must carry its offset (Z or +01:00),
 * because "18:00" alone would mean something else on the build machine than on the server.
 */
export function saleEndsAt(value: string): number | null {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const start = Date.UTC(year, month - 1, day);
    const check = new Date(start);
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
    return start + 24 * 60 * 60 * 1000;
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i.test(value)) return null;
  const at = Date.parse(value.replace(' ', 'T'));
  return Number.isFinite(at) ? at : null;
}

// YAML reads an unquoted 2026-12-31 as text with this parser's core schema; a Date (YAML 1.1
// timestamps) is accepted too, as its ISO form.
const saleEnds = z
  .union([z.string(), z.date()], { error: SALE_ENDS_HELP })
  .transform((value) => (value instanceof Date ? value.toISOString() : value.trim()))
  .refine((value) => saleEndsAt(value) !== null, SALE_ENDS_HELP);

function taxCode(what: string) {
  return z
    .string({ error: `${what} must be a Stripe product tax code such as ${DEFAULT_TAX_CODE}` })
    .regex(TAX_CODE, `${what} must be a Stripe product tax code such as ${DEFAULT_TAX_CODE} (txcd_ and eight digits)`);
}

/** Selling across borders with Stripe Tax, tax IDs and invoices (docs/authoring.md, docs/payments.md). */
const taxSettings = z.strictObject({
  /** Stripe Tax computes VAT, GST or sales tax from the buyer's billing address. */
  automatic_tax: flag('tax.automatic_tax').default(false),
  /** The course prices include tax (as EU consumers expect), or tax is added on top. */
  prices_include_tax: flag('tax.prices_include_tax').default(true),
  /** Business buyers may enter a VAT or other tax ID, which their invoice carries. */
  tax_id_collection: flag('tax.tax_id_collection').default(false),
  /** Stripe Tax needs the buyer's address: `required` asks for all of it, `auto` only what the tax needs. */
  billing_address_collection: z.enum(['required', 'auto'], { error: 'tax.billing_address_collection must be required or auto' }).default('required'),
  /** Stripe makes a numbered invoice with a PDF for each purchase, and emails it to the buyer. */
  invoices: flag('tax.invoices').default(false),
  /** The product tax code of every course; a course's `tax_code` overrides it. */
  tax_code: taxCode('tax.tax_code').default(DEFAULT_TAX_CODE),
});

/** A list of settings objects; an unknown key in an item is named with the keys it may have. */
function itemsOf<T extends z.ZodRawShape>(what: string, example: string, shape: T, max: number) {
  const keys = Object.keys(shape).join(', ');
  const item = z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key "${issue.keys.join('", "')}": the keys are ${keys}` : `each item must have ${keys}`),
  });
  return z
    .array(item, { error: `${what} must be a list of items, each starting with "- ${example}:"` })
    .max(max, `${what} has more than ${max} items`)
    .default([]);
}

/** Sales page blocks (docs/authoring.md, "The sales page"): readers' words, shown as written. */
const testimonials = itemsOf('testimonials', 'quote', { quote: text('quote', 600), name: text('name', 80), role: text('role', 120).optional() }, 12);
/** Questions and their Markdown answers, opened with <details> on the course page. */
const faq = itemsOf('faq', 'question', { question: text('question', 200), answer: text('answer', 2000) }, 30);

export const courseFrontMatter = z.strictObject({
  title: text('title', 120),
  description: text('description', 300).refine((d) => !/\n\s*\n/.test(d), 'description must be one paragraph'),
  price: z.string({
    error: (issue) =>
      issue.input === undefined
        ? 'price is required, e.g. price: "49.00"'
        : `price must be written in quotes, exactly as buyers should see it, e.g. price: "${String(issue.input)}"`,
  }),
  currency: currency.optional(),
  cover: relativeFile('cover').optional(),
  published: flag('published').default(true),
  order: z.number({ error: 'order must be a whole number' }).int('order must be a whole number').optional(),
  level: z.enum(['beginner', 'intermediate', 'advanced'], { error: 'level must be one of beginner, intermediate, advanced' }).optional(),
  tags: z.array(text('each tag', 40), { error: 'tags must be a list such as [python, data]' }).max(12).default([]),
  /** Announced, not on sale yet: the page collects "notify me" emails instead of selling. */
  coming_soon: flag('coming_soon').default(false),
  /** The last moment the course can be bought; see saleEndsAt for how a bare date is read. */
  sale_ends: saleEnds.optional(),
  /** Overrides the site's `promotion_codes` for this course. */
  promotion_codes: flag('promotion_codes').optional(),
  /** Overrides the site's `tax.tax_code` (Stripe's product tax code) for this course. */
  tax_code: taxCode('tax_code').optional(),
  testimonials,
  faq,
  /** The author's promise (a refund window...), in Markdown, beside both buy buttons. */
  guarantee: text('guarantee', 600).optional(),
});

export const lessonFrontMatter = z.strictObject({
  title: text('title', 160),
  description: text('description', 300).optional(),
  preview: flag('preview').default(false),
  draft: flag('draft').default(false),
  duration: z
    .number({ error: 'duration must be a whole number of minutes' })
    .int('duration must be a whole number of minutes')
    .min(1, 'duration must be at least 1 minute')
    .max(24 * 60, 'duration is in minutes and must be under a day')
    .optional(),
});

export const sectionFrontMatter = z.strictObject({
  title: text('title', 160),
  description: text('description', 300).optional(),
});

export const siteSettings = z
  .strictObject({
    name: text('name', 80),
    tagline: text('tagline', 160).optional(),
    description: text('description', 300),
    author: text('author', 80),
    blog_url: z.url({ error: 'blog_url must be an absolute URL such as https://example.com' }).optional(),
    blog_name: text('blog_name', 80).optional(),
    logo: z
      .string()
      .refine((p) => p.startsWith('/'), 'logo must be a path under public/, such as /logo.svg')
      .optional(),
    locale: z
      .string()
      .refine((tag) => {
        try {
          return Intl.getCanonicalLocales(tag).length === 1;
        } catch {
          return false;
        }
      }, 'locale must be a BCP 47 language tag such as en-US')
      .default('en-US'),
    currency: currency.default('USD'),
    twitter: z
      .string()
      .regex(/^@\w{1,15}$/, 'twitter must be a handle such as @author')
      .optional(),
    /** Checkout accepts Stripe promotion codes, unless a course says otherwise. */
    promotion_codes: flag('promotion_codes').default(false),
    tax: taxSettings.optional(),
    /** The terms of sale: an absolute URL or a path on this site such as /terms/. */
    terms_url: z
      .string({ error: 'terms_url must be a URL or a path such as /terms/' })
      .refine((value) => value.startsWith('/') || /^https?:\/\//.test(value), 'terms_url must be an absolute URL or a path on this site such as /terms/')
      .optional(),
    /**
     * EU consumer law: checkout requires the buyer to ask for immediate access and acknowledge the
     * loss of the 14-day withdrawal right, with a link to `terms_url`.
     */
    withdrawal_consent: flag('withdrawal_consent').default(false),
    /** "About the author" on every course page: a few lines, a photo beside site.yaml, a name (default `author`). */
    bio: z
      .strictObject(
        { text: text('bio.text', 600), photo: relativeFile('bio.photo').optional(), name: text('bio.name', 80).optional() },
        {
          error: (issue) =>
            issue.code === 'unrecognized_keys'
              ? `bio: unknown key "${issue.keys.join('", "')}": the keys are text, photo, name`
              : 'bio must have text, and may have photo and name',
        },
      )
      .optional(),
  })
  .refine((site) => !site.withdrawal_consent || site.terms_url, {
    message: 'withdrawal_consent needs terms_url, the page the consent text links to',
    path: ['terms_url'],
  });

export type CourseFrontMatter = z.infer<typeof courseFrontMatter>;
export type LessonFrontMatter = z.infer<typeof lessonFrontMatter>;
export type SectionFrontMatter = z.infer<typeof sectionFrontMatter>;
export type SiteSettings = z.infer<typeof siteSettings>;
