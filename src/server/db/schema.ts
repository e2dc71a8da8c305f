// Every table of the store, in one place. Names are snake_case in SQL; times are integer
// milliseconds since the epoch (what `clock.now()` returns), so that comparisons are plain integers
// on every driver (libSQL, D1).
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** Normalised (trimmed, lower-case); see normaliseEmail. */
  email: text('email').notNull().unique(),
  /** Null for accounts created by a purchase that never set a password. */
  passwordHash: text('password_hash'),
  /**
   * The password chosen at sign-up, usable only once the emailed confirmation proves the address
   * (it then becomes `passwordHash`). Until then a password sign-in fails as a wrong password does,
   * so signing up an address and then signing in cannot tell a new address from a registered one.
   */
  pendingPasswordHash: text('pending_password_hash'),
  /** Copied into every session token as `sv`; bumping it revokes every older token. */
  sessionVersion: integer('session_version').notNull().default(1),
  /** `admin` may see /admin/ and use its actions; made by `npm run admin -- create-admin`. */
  role: text('role', { enum: ['member', 'admin'] })
    .notNull()
    .default('member'),
  /**
   * Set once the owner of the address used a token mailed to it (sign-in link, reset, set-password
   * or verification link). The first verification ends every session and clears any password set
   * before it (docs/decisions/0006-email-verification.md).
   */
  emailVerifiedAt: integer('email_verified_at'),
  /**
   * The Checkout Session whose fulfilment created this account (a guest purchase); null for any
   * other origin. Only that purchase may count as having made the account.
   */
  createdByCheckout: text('created_by_checkout'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Single-use secrets sent by email. Only their SHA-256 is stored. */
export const authTokens = sqliteTable(
  'auth_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['reset', 'link', 'verify'] }).notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [index('auth_tokens_user_id').on(table.userId), index('auth_tokens_expires_at').on(table.expiresAt)],
);

/**
 * One row per signed-in browser. The session token names its row (`sid`); signing out deletes the
 * row, so a copied token dies with it, and `expires_at` is the absolute end however often the
 * token is renewed.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    /** Random, base64url; carried in the token. */
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    /** Absolute lifetime: no renewal goes past it. */
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [index('sessions_user_id').on(table.userId), index('sessions_expires_at').on(table.expiresAt)],
);

/**
 * The browser that started each Checkout Session: the SHA-256 of a random secret kept in that
 * browser's cookie (never in a URL). The success page signs a guest buyer in only for the browser
 * holding the secret, once, shortly after paying.
 */
export const checkoutStarts = sqliteTable(
  'checkout_starts',
  {
    checkoutSessionId: text('checkout_session_id').primaryKey(),
    browserSecretHash: text('browser_secret_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    /** When the success page used it to sign the buyer in; it works once. */
    usedAt: integer('used_at'),
  },
  (table) => [index('checkout_starts_created_at').on(table.createdAt)],
);

/**
 * Fixed-window counters, keyed by action and a hash of the subject (an IP address or an email),
 * kept in the store so that every process sees the same counts.
 */
export const rateLimits = sqliteTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    windowStart: integer('window_start').notNull(),
    count: integer('count').notNull().default(0),
  },
  (table) => [index('rate_limits_window_start').on(table.windowStart)],
);

/**
 * The store's copy of each course, written by the content sync from the build. Checkout reads the
 * price here, never from the request; a changed price applies to purchases made after the sync.
 */
export const courses = sqliteTable('courses', {
  slug: text('slug').primaryKey(),
  title: text('title').notNull(),
  /** In the currency's minor unit (cents; yen for JPY; fils for KWD). */
  priceMinor: integer('price_minor').notNull(),
  /** ISO 4217, upper case. */
  currency: text('currency').notNull(),
  /** 0 when the course is unpublished in git or removed from it: nobody can buy it any more. */
  published: integer('published', { mode: 'boolean' }).notNull(),
  /** Where a buyer starts: the course's first lesson. */
  firstLessonSlug: text('first_lesson_slug'),
  position: integer('position').notNull().default(0),
  /** Announced but not on sale: the course page offers "notify me" instead of a buy form. */
  comingSoon: integer('coming_soon', { mode: 'boolean' }).notNull().default(false),
  /** End of the sale window (ms); checkout refuses after it. Null: no end. */
  saleEndsAt: integer('sale_ends_at'),
  /** Checkout accepts Stripe promotion codes (the course's front matter, else the site setting). */
  promotionCodes: integer('promotion_codes', { mode: 'boolean' }).notNull().default(false),
  /** The tax, invoice and consent settings it sells with, as JSON (payments/checkout-tax.ts); null: none. */
  checkoutTax: text('checkout_tax'),
  /** SHA-256 of the synced fields: an unchanged course costs no write. */
  contentHash: text('content_hash').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Every lesson of every course, with the built page of each paid lesson. Removed from git means
 * unpublished, never deleted, so members' progress survives.
 */
export const lessons = sqliteTable(
  'lessons',
  {
    courseSlug: text('course_slug').notNull(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    position: integer('position').notNull(),
    preview: integer('preview', { mode: 'boolean' }).notNull(),
    published: integer('published', { mode: 'boolean' }).notNull(),
    /** The full HTML page as Astro built it (paid lessons only; previews are static files). */
    html: text('html'),
    /** SHA-256 of the page and fields; also the ETag the gate answers with. */
    contentHash: text('content_hash').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.courseSlug, table.slug] })],
);

/**
 * Images and downloads of paid lessons, served only through the lesson gate. Names are content
 * hashed, so a changed file is a new row and an unchanged one costs no write.
 */
export const privateMedia = sqliteTable(
  'private_media',
  {
    courseSlug: text('course_slug').notNull(),
    name: text('name').notNull(),
    contentType: text('content_type').notNull(),
    body: blob('body', { mode: 'buffer' }).notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.courseSlug, table.name] })],
);

/**
 * One row per way a member came to own a course: a paid Checkout Session (`stripe`) or an access
 * given by the author (`grant`). The Stripe ids map refunds and disputes back to the purchase.
 */
export const purchases = sqliteTable(
  'purchases',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    courseSlug: text('course_slug').notNull(),
    source: text('source', { enum: ['stripe', 'grant'] }).notNull(),
    /** Unique: the webhook and the success page racing can never record a session twice. */
    checkoutSessionId: text('checkout_session_id').unique(),
    paymentIntentId: text('payment_intent_id'),
    /** What was paid, in minor units, as Stripe charged it (not the course's current price). */
    amountMinor: integer('amount_minor').notNull(),
    currency: text('currency').notNull(),
    amountRefundedMinor: integer('amount_refunded_minor').notNull().default(0),
    /** Stripe's view of the money: paid, partially_refunded, refunded, disputed, dispute_won, dispute_lost. */
    status: text('status').notNull(),
    /** The account was created by this purchase (a guest checkout). */
    createdUser: integer('created_user', { mode: 'boolean' }).notNull().default(false),
    /**
     * Made for an email address rather than by the account signed in (a guest checkout, an
     * author's grant to an existing account): it gives access only once the address is verified,
     * unless this purchase created the account (docs/decisions/0006-email-verification.md).
     */
    requiresVerifiedEmail: integer('requires_verified_email', { mode: 'boolean' }).notNull().default(false),
    livemode: integer('livemode', { mode: 'boolean' }).notNull().default(false),
    /**
     * The money as Stripe Tax split it (minor units, in `currency`): before tax, and the tax;
     * `amountMinor` is the total paid. A purchase made without tax has a tax of 0 and a
     * subtotal equal to its total (also what the migration gives older purchases).
     */
    subtotalMinor: integer('subtotal_minor'),
    taxMinor: integer('tax_minor').notNull().default(0),
    /** The billing country the tax was computed for (ISO 3166-1 alpha-2), when Stripe collected one. */
    taxCountry: text('tax_country'),
    /** The buyer's tax IDs as Stripe collected them, `type:value`, comma-separated. */
    buyerTaxIds: text('buyer_tax_ids'),
    /** Stripe's invoice (`in_...`) and its hosted page and PDF, when invoices are on. */
    invoiceId: text('invoice_id'),
    invoiceUrl: text('invoice_url'),
    invoicePdfUrl: text('invoice_pdf_url'),
    /** The invoice's credit notes (refunds on paper), as JSON [{ id, number, amountMinor, pdf }]. */
    creditNotes: text('credit_notes'),
    /** The buyer asked for immediate access and acknowledged losing the withdrawal right (EU). */
    consentGiven: integer('consent_given', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [
    index('purchases_user_course').on(table.userId, table.courseSlug),
    index('purchases_payment_intent').on(table.paymentIntentId),
    index('purchases_course_created').on(table.courseSlug, table.createdAt),
  ],
);

/**
 * Access is an append-only ledger per purchase. A purchase gives access while its latest entry is
 * `grant` or `restore`. `seq` numbers a purchase's entries; the unique index makes two writers
 * that read the same latest entry unable to both append after it.
 */
export const accessLedger = sqliteTable(
  'access_ledger',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    purchaseId: integer('purchase_id')
      .notNull()
      .references(() => purchases.id),
    userId: integer('user_id').notNull(),
    courseSlug: text('course_slug').notNull(),
    seq: integer('seq').notNull(),
    action: text('action', { enum: ['grant', 'revoke', 'suspend', 'restore'] }).notNull(),
    /** Why: purchase, refund, dispute_created, dispute_won, dispute_lost, reconcile, or an admin's reason. */
    reason: text('reason').notNull(),
    /** The Stripe object (cs_, ch_, re_, dp_) and event (evt_) that caused the entry, when Stripe did. */
    stripeObjectId: text('stripe_object_id'),
    stripeEventId: text('stripe_event_id'),
    /** The admin who made the entry by hand. */
    actorUserId: integer('actor_user_id'),
    note: text('note'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [uniqueIndex('access_ledger_purchase_seq').on(table.purchaseId, table.seq), index('access_ledger_user_course').on(table.userId, table.courseSlug)],
);

/** Webhook events fully handled, so that a redelivery is answered 200 with no second effect. */
export const stripeEvents = sqliteTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  processedAt: integer('processed_at').notNull(),
});

/** Lessons a member marked complete. Keyed by slugs, so it survives a lesson being unpublished. */
export const lessonProgress = sqliteTable(
  'lesson_progress',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    courseSlug: text('course_slug').notNull(),
    lessonSlug: text('lesson_slug').notNull(),
    completedAt: integer('completed_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.courseSlug, table.lessonSlug] })],
);

/**
 * The lesson each member last opened in each course, where "Continue" leads. One row per member and
 * course, written by the lesson gate only when the member opens a different lesson than the one
 * recorded, so re-reading a lesson costs no write.
 */
export const lessonReads = sqliteTable(
  'lesson_reads',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    courseSlug: text('course_slug').notNull(),
    lessonSlug: text('lesson_slug').notNull(),
    readAt: integer('read_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.courseSlug] })],
);

/**
 * Who did what by hand, and why: every admin action (web or command line) writes one row, in the
 * same batch as its effect.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The admin's account; null for the command line run by the operator. */
    actorUserId: integer('actor_user_id'),
    /** `cli` or `web`. */
    via: text('via').notNull(),
    /** What was done, e.g. `grant`, `revoke`, `create-admin`, `set-password`, `sign-out-everywhere`. */
    action: text('action').notNull(),
    /** The member the action was about, if any. */
    subjectUserId: integer('subject_user_id'),
    courseSlug: text('course_slug'),
    reason: text('reason'),
    /** Anything else worth keeping, as JSON. */
    detail: text('detail'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [index('audit_log_created').on(table.createdAt), index('audit_log_subject').on(table.subjectUserId)],
);

/** "Tell me when it opens": emails left on a coming-soon course's page, for the author. */
export const courseWaitlist = sqliteTable(
  'course_waitlist',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    courseSlug: text('course_slug').notNull(),
    /** Normalised like account emails. */
    email: text('email').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [uniqueIndex('course_waitlist_course_email').on(table.courseSlug, table.email)],
);

/** One row per content sync that ran, for the admin dashboard's "last sync". */
export const contentSyncs = sqliteTable('content_syncs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  finishedAt: integer('finished_at').notNull(),
  /** Rows written (0 when the bundle was unchanged). */
  written: integer('written').notNull(),
  /** The sync's summary as JSON (courses and lessons added, changed, unpublished). */
  summary: text('summary').notNull(),
});

export type User = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type CourseRow = typeof courses.$inferSelect;
export type LessonRow = typeof lessons.$inferSelect;
export type Purchase = typeof purchases.$inferSelect;
export type LedgerEntry = typeof accessLedger.$inferSelect;
