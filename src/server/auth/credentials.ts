// What the site accepts as an email address and as a new password. Every form that takes one goes
// through these schemas, so the rules cannot drift between sign-up, reset and password change.
import { z } from 'zod';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const MIN_PASSWORD_LENGTH = 10;
/** Far above any real passphrase; keeps the work of hashing bounded. */
export const MAX_PASSWORD_LENGTH = 1_000;

/** Trimmed and lower-cased, so that one person has one account whatever they type. */
export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}

export const emailSchema = z
  .string({ error: 'email-invalid' })
  .transform(normaliseEmail)
  .pipe(z.email({ error: 'email-invalid' }).max(254, { error: 'email-invalid' }));

/** A password as typed at sign-in: anything non-empty, checked only against its hash. */
export const passwordSchema = z
  .string({ error: 'password-missing' })
  .min(1, { error: 'password-missing' })
  .max(MAX_PASSWORD_LENGTH, { error: 'password-too-long' });

/** A password being chosen: long enough and not one of the most common ones. */
export const newPasswordSchema = z
  .string({ error: 'password-missing' })
  .refine((value) => [...value].length >= MIN_PASSWORD_LENGTH, { error: 'password-too-short' })
  .refine((value) => value.length <= MAX_PASSWORD_LENGTH, { error: 'password-too-long' })
  .refine((value) => !COMMON_PASSWORDS.has(value.toLowerCase()), { error: 'password-common' });
