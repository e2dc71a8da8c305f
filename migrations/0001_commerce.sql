CREATE TABLE `access_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`purchase_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`course_slug` text NOT NULL,
	`seq` integer NOT NULL,
	`action` text NOT NULL,
	`reason` text NOT NULL,
	`stripe_object_id` text,
	`stripe_event_id` text,
	`actor_user_id` integer,
	`note` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`purchase_id`) REFERENCES `purchases`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `access_ledger_purchase_seq` ON `access_ledger` (`purchase_id`,`seq`);--> statement-breakpoint
CREATE INDEX `access_ledger_user_course` ON `access_ledger` (`user_id`,`course_slug`);--> statement-breakpoint
CREATE TABLE `courses` (
	`slug` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`price_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`published` integer NOT NULL,
	`first_lesson_slug` text,
	`position` integer DEFAULT 0 NOT NULL,
	`content_hash` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `lesson_progress` (
	`user_id` integer NOT NULL,
	`course_slug` text NOT NULL,
	`lesson_slug` text NOT NULL,
	`completed_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `course_slug`, `lesson_slug`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `lessons` (
	`course_slug` text NOT NULL,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`position` integer NOT NULL,
	`preview` integer NOT NULL,
	`published` integer NOT NULL,
	`html` text,
	`content_hash` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`course_slug`, `slug`)
);
--> statement-breakpoint
CREATE TABLE `private_media` (
	`course_slug` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`body` blob NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`course_slug`, `name`)
);
--> statement-breakpoint
CREATE TABLE `purchases` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`course_slug` text NOT NULL,
	`source` text NOT NULL,
	`checkout_session_id` text,
	`payment_intent_id` text,
	`amount_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`amount_refunded_minor` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`created_user` integer DEFAULT false NOT NULL,
	`livemode` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `purchases_checkout_session_id_unique` ON `purchases` (`checkout_session_id`);--> statement-breakpoint
CREATE INDEX `purchases_user_course` ON `purchases` (`user_id`,`course_slug`);--> statement-breakpoint
CREATE INDEX `purchases_payment_intent` ON `purchases` (`payment_intent_id`);--> statement-breakpoint
CREATE INDEX `purchases_course_created` ON `purchases` (`course_slug`,`created_at`);--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`processed_at` integer NOT NULL
);
