// Audit rows read as sentences of the site's language: each action the code writes, with what its
// detail recorded, and never the raw JSON of the detail. The revenue chart: its months, its bars
// and its words.
import { describe, expect, test } from 'vitest';
import { messagesFor } from '../i18n/index.ts';
import type { AuditRow } from './queries.ts';
import { auditSentence, CHART_MONTHS, revenueChart } from './views.ts';

const row = (action: string, detail: Record<string, unknown> | null, extra: Partial<AuditRow> = {}): AuditRow => ({
  id: 1,
  createdAt: 0,
  via: 'web',
  action,
  actorEmail: 'author@example.com',
  subjectEmail: 'ada@example.com',
  courseSlug: 'python-fundamentals',
  reason: 'gift',
  detail: detail === null ? null : JSON.stringify(detail),
  ...extra,
});

const EXPIRES = Date.parse('2026-12-10T09:30:00Z');

const CASES: [AuditRow, string, string][] = [
  [
    row('grant', { purchaseId: 12, note: 'conference prize' }),
    'Gave python-fundamentals to ada@example.com (grant #12). Note: “conference prize”.',
    'A donné python-fundamentals à ada@example.com (attribution n° 12). Note\u202f: «\u202fconference prize\u202f».',
  ],
  [
    row('grant', { purchaseId: 13, createdUser: true }),
    'Created the account ada@example.com, without a password, and gave it python-fundamentals (grant #13).',
    'A créé le compte ada@example.com, sans mot de passe, et lui a donné python-fundamentals (attribution n° 13).',
  ],
  [
    row('grant', { purchaseId: 14, import: 'csv T-1001', amount: '79', currency: 'EUR' }, { actorEmail: null, via: 'cli', reason: 'migration' }),
    'Gave python-fundamentals to ada@example.com (grant #14). Imported as “csv T-1001”. Paid on the former platform: 79 EUR.',
    'A donné python-fundamentals à ada@example.com (attribution n° 14). Importé sous «\u202fcsv T-1001\u202f». Payé sur l’ancienne plateforme\u202f: 79 EUR.',
  ],
  [
    row('revoke', { purchaseId: 12, source: 'grant' }),
    'Took python-fundamentals away from ada@example.com (purchase or grant #12).',
    'A retiré python-fundamentals à ada@example.com (achat ou attribution n° 12).',
  ],
  [
    row('create-admin', { account: 'created' }, { courseSlug: null }),
    'Created the admin account ada@example.com.',
    'A créé le compte administrateur ada@example.com.',
  ],
  [
    row('create-admin', { account: 'promoted', passwordSet: true, signedOut: true }, { courseSlug: null }),
    'Made ada@example.com an admin with the operator’s password; every session and emailed link of the account ended.',
    'A fait de ada@example.com un administrateur avec le mot de passe de l’opérateur\u202f; toutes les sessions et tous les liens envoyés par e-mail de ce compte ont pris fin.',
  ],
  [
    row('remove-admin', null, { courseSlug: null }),
    'Made ada@example.com a member again (no longer an admin).',
    'A refait de ada@example.com un simple membre (il n’est plus administrateur).',
  ],
  [
    row('set-password', { signedOut: true, verified: true }, { courseSlug: null }),
    'Set a new password for ada@example.com, marked the address verified and ended every session.',
    'A défini un nouveau mot de passe pour ada@example.com, marqué l’adresse comme vérifiée et mis fin à toutes les sessions.',
  ],
  [
    row('sign-out-everywhere', null, { courseSlug: null }),
    'Signed ada@example.com out on every device.',
    'A déconnecté ada@example.com sur tous les appareils.',
  ],
  [
    row('password-email', { hasPassword: true, expiresAt: EXPIRES }, { courseSlug: null }),
    'Emailed ada@example.com a link to choose a new password, valid until 2026-12-10 09:30 UTC.',
    'A envoyé à ada@example.com un lien pour choisir un nouveau mot de passe, valable jusqu’au 2026-12-10 09:30 UTC.',
  ],
  [
    row('password-email', { hasPassword: false, expiresAt: EXPIRES }, { courseSlug: null, subjectEmail: null }),
    'Emailed an account since deleted a link to set a first password, valid until 2026-12-10 09:30 UTC.',
    'A envoyé à un compte supprimé depuis un lien pour définir un premier mot de passe, valable jusqu’au 2026-12-10 09:30 UTC.',
  ],
  [
    row(
      'import-snapshot',
      { schema: '0007', exportedAt: 1, users: 3, purchases: 1, ledger: 2, progress: 0, waitlist: 1 },
      { subjectEmail: null, courseSlug: null },
    ),
    'Imported a snapshot: added 3 accounts, 1 purchase, 2 ledger entries, 0 completed lessons and 1 waitlist entry.',
    'A importé une sauvegarde\u202f: 3 comptes ajoutés, 1 achat, 2 entrées du registre, 0 leçon terminée et 1 inscription en liste d’attente.',
  ],
  [
    row('import-django', { source: 'dump.json', models: { user: 'auth.user' }, users: 2, grants: 5 }, { subjectEmail: null, courseSlug: null }),
    'Imported members from a Django dump (dump.json): 2 accounts created, 5 courses granted.',
    'A importé des membres d’un export Django (dump.json)\u202f: 2 comptes créés, 5 cours attribués.',
  ],
  [
    row('import-csv', { source: 'sales.csv', rows: 4, accounts: 2, grants: 3, refused: 1 }, { subjectEmail: null, courseSlug: null }),
    'Imported a CSV file (sales.csv): 4 rows, 2 accounts created, 3 courses granted, 1 row refused.',
    'A importé un fichier CSV (sales.csv)\u202f: 4 lignes, 2 comptes créés, 3 cours attribués, 1 ligne refusée.',
  ],
  [row('writer', { what: 1 }), 'Recorded “writer”.', 'A enregistré «\u202fwriter\u202f».'],
  [
    row('grant', null, { detail: 'not json' }),
    'Gave python-fundamentals to ada@example.com (grant #0).',
    'A donné python-fundamentals à ada@example.com (attribution n° 0).',
  ],
];

describe('auditSentence', () => {
  test.each(CASES)('%# %j', (audit, english, french) => {
    expect(auditSentence(messagesFor('en-US'), audit)).toBe(english);
    expect(auditSentence(messagesFor('fr-FR'), audit)).toBe(french);
  });

  test('no sentence shows the detail as JSON', () => {
    for (const [audit] of CASES) for (const locale of ['en-US', 'fr-FR']) expect(auditSentence(messagesFor(locale), audit)).not.toMatch(/[{}]|"\w+":/);
  });
});

describe('revenueChart', () => {
  const bars = (svg: string) => [...svg.matchAll(/data-month="([\d-]+)"[^>]*height="(\d+)"/g)].map(([, month, height]) => [month, Number(height)]);

  test('months without sales between two with sales are empty bars; rows of one month add up; bars in proportion to the best month', () => {
    const svg = revenueChart(messagesFor('en-US'), 'USD', [
      { month: '2025-12', revenueMinor: 2000 },
      { month: '2026-02', revenueMinor: 3000 },
      { month: '2026-02', revenueMinor: 1000 },
    ]).value;
    expect(bars(svg)).toEqual([
      ['2025-12', 60],
      ['2026-01', 0],
      ['2026-02', 120],
    ]);
    expect(svg).toContain('of 3 months, from December 2025 to February 2026. The best month is February 2026, with $40.');
    expect(svg).toContain('data-chart="USD 2026-01">$0<');
    expect(svg).not.toContain('<script');
  });

  test('at most the last twelve months, and nothing at all without sales', () => {
    const months = [2025, 2026]
      .flatMap((year) => Array.from({ length: 12 }, (_, index) => `${year}-${String(index + 1).padStart(2, '0')}`))
      .slice(0, 15)
      .map((month) => ({ month, revenueMinor: 100 }));
    const shown = bars(revenueChart(messagesFor('en-US'), 'EUR', months).value).map(([month]) => month);
    expect(shown).toHaveLength(CHART_MONTHS);
    expect(shown[0]).toBe('2025-04');
    expect(shown.at(-1)).toBe('2026-03');
    expect(revenueChart(messagesFor('en-US'), 'EUR', []).value).toBe('');
  });

  test('in the site’s language: months, amounts and words', () => {
    const svg = revenueChart(messagesFor('fr-FR'), 'EUR', [{ month: '2026-09', revenueMinor: 7900 }]).value;
    expect(svg).toContain('<title id="revenue-chart-eur-title">Chiffre d’affaires par mois en EUR</title>');
    expect(svg).toContain('Le meilleur mois est septembre 2026, avec 79\u00a0€.');
    expect(svg).toContain('>sept. 26<');
  });
});
