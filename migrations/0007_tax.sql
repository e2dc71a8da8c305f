ALTER TABLE `courses` ADD `checkout_tax` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `subtotal_minor` integer;--> statement-breakpoint
ALTER TABLE `purchases` ADD `tax_minor` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `purchases` ADD `tax_country` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `buyer_tax_ids` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `invoice_id` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `invoice_url` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `invoice_pdf_url` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `credit_notes` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `consent_given` integer DEFAULT false NOT NULL;