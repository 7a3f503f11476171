CREATE TABLE "changes" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"owner_id" uuid,
	"job_id" uuid,
	"op" varchar(10) NOT NULL,
	"path" varchar(1024) NOT NULL,
	"sha" varchar(64),
	"size" bigint,
	"language" varchar(50),
	"generation" integer DEFAULT 0 NOT NULL,
	"status" varchar(20) DEFAULT 'pending' NOT NULL,
	"error" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "file_contents" (
	"sha" varchar(64) PRIMARY KEY NOT NULL,
	"content" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "delivered_sha" varchar(64);--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "delivery_error" text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "fence" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_job_batches" ADD COLUMN "fence" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "changes_source_id_seq_idx" ON "changes" USING btree ("source_id","seq");--> statement-breakpoint
CREATE INDEX "changes_source_id_path_idx" ON "changes" USING btree ("source_id","path");--> statement-breakpoint
CREATE INDEX "changes_pending_idx" ON "changes" USING btree ("source_id","path") WHERE "changes"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "changes_pending_sha_idx" ON "changes" USING btree ("sha") WHERE "changes"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "files_sha_idx" ON "files" USING btree ("sha");--> statement-breakpoint
UPDATE "files" SET "delivered_sha" = "sha";--> statement-breakpoint
INSERT INTO "changes" ("source_id", "job_id", "op", "path", "sha") SELECT "source_id", "job_id", "op", "path", "sha" FROM "pipeline_deliveries" WHERE "status" <> 'delivered' ORDER BY "id";--> statement-breakpoint
DELETE FROM "pipeline_deliveries" WHERE "status" <> 'delivered';
