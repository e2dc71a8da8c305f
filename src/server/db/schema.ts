// Every table of the store, in one place. Names are snake_case in SQL; times are integer
// milliseconds since the epoch (what `clock.now()` returns), so that comparisons are plain integers
// on every driver (libSQL, D1).
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** Normalised (trimmed, lower-case); see normaliseEmail. */
  email: text('email').notNull().unique(),
  /** Null for accounts created by a purchase that never set a password. */
  passwordHash: text('password_hash'),
  /** Copied into every session token as `sv`; bumping it revokes every older token. */
  sessionVersion: integer('session_version').notNull().default(1),
  /** Set once the member proved they read this address (a reset or sign-in link). */
  emailVerifiedAt: integer('email_verified_at'),
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
    purpose: text('purpose', { enum: ['reset', 'link'] }).notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [index('auth_tokens_user_id').on(table.userId), index('auth_tokens_expires_at').on(table.expiresAt)],
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

export type User = typeof users.$inferSelect;
