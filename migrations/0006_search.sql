-- The full-text index of lesson text for search (src/server/content/search.ts), filled by the
-- content sync. Written by hand: drizzle's schema cannot describe an FTS5 virtual table. FTS5 is
-- built into libSQL, SQLite and D1.
--
-- The rowid places each lesson in a block: free previews of every course in one range, the paid
-- lessons of each course in a range of their own, so that a search reads only the blocks its
-- reader may read (docs/decisions/0010-search-index.md). `hash` is the SHA-256 of the indexed
-- text, so that an unchanged lesson is not written again.
CREATE VIRTUAL TABLE `lesson_search` USING fts5(
	`title`,
	`body`,
	`course_slug` UNINDEXED,
	`lesson_slug` UNINDEXED,
	`hash` UNINDEXED,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
