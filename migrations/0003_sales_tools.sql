CREATE TABLE `content_syncs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`finished_at` integer NOT NULL,
	`written` integer NOT NULL,
	`summary` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `course_waitlist` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`course_slug` text NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `course_waitlist_course_email` ON `course_waitlist` (`course_slug`,`email`);--> statement-breakpoint
ALTER TABLE `courses` ADD `coming_soon` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `sale_ends_at` integer;--> statement-breakpoint
ALTER TABLE `courses` ADD `promotion_codes` integer DEFAULT false NOT NULL;