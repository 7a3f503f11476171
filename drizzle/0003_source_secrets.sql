ALTER TABLE "sources" ADD COLUMN "token_secret" text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "webhook_secret" text;