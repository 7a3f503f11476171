ALTER TABLE "sources" ADD COLUMN "verified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "drift" integer;--> statement-breakpoint
ALTER TABLE "sync_jobs" ADD COLUMN "result" jsonb;