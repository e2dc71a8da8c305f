// Which migrations this build knows: the latest entry of drizzle-kit's journal. The server's start,
// /healthz and store snapshots all compare against this one value.
import journal from '../../../migrations/meta/_journal.json' with { type: 'json' };

const latest = journal.entries.reduce((newest, entry) => (entry.idx > newest.idx ? entry : newest));

/** `when`: the timestamp drizzle records as `created_at` in `__drizzle_migrations`; `tag`: its file name. */
export const LATEST_MIGRATION: { when: number; tag: string } = { when: latest.when, tag: latest.tag };

/** The tag of every migration this build knows, oldest first. */
export const KNOWN_MIGRATIONS: readonly string[] = journal.entries.map((entry) => entry.tag);
