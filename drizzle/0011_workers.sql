CREATE TABLE "workers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"pid" integer NOT NULL,
	"host" varchar(255) NOT NULL,
	"version" varchar(50) NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"jobs_running" integer DEFAULT 0 NOT NULL,
	"metrics" jsonb
);
--> statement-breakpoint
CREATE INDEX "workers_last_seen_at_idx" ON "workers" USING btree ("last_seen_at");