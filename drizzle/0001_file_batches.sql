CREATE TABLE "sync_job_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"batch_no" integer NOT NULL,
	"files" jsonb NOT NULL,
	"status" varchar(20) DEFAULT 'pending' NOT NULL,
	"error_kind" varchar(20),
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "sync_job_batches" ADD CONSTRAINT "sync_job_batches_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "public"."sync_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sync_job_batches_job_id_batch_no_key" ON "sync_job_batches" USING btree ("job_id","batch_no");--> statement-breakpoint
CREATE INDEX "sync_job_batches_pending_idx" ON "sync_job_batches" USING btree ("job_id") WHERE "sync_job_batches"."status" = 'pending';