ALTER TABLE "sync_job_failures" ALTER COLUMN "path" SET DATA TYPE text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "status_detail" text;--> statement-breakpoint
ALTER TABLE "sync_jobs" ADD COLUMN "confirm_deletes" boolean DEFAULT false NOT NULL;