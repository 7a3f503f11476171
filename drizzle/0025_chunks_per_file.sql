-- A file's chunks in one row (a third of the rows to write and index), their line ranges as
-- arrays; the text only when a chunk stage gave it (see lib/db/schema.ts).
CREATE TABLE "chunks_per_file" (
	"file_id" uuid NOT NULL,
	"start_lines" integer[] NOT NULL,
	"end_lines" integer[] NOT NULL,
	"contents" text[]
);--> statement-breakpoint
INSERT INTO "chunks_per_file" ("file_id", "start_lines", "end_lines", "contents")
SELECT "file_id", array_agg("start_line" ORDER BY "ordinal"), array_agg("end_line" ORDER BY "ordinal"),
  CASE WHEN bool_or("content" IS NOT NULL) THEN array_agg(coalesce("content", '') ORDER BY "ordinal") END
FROM "chunks" GROUP BY "file_id";--> statement-breakpoint
DROP TABLE "chunks";--> statement-breakpoint
ALTER TABLE "chunks_per_file" RENAME TO "chunks";--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_pkey" PRIMARY KEY("file_id");--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "public"."files"("id") ON DELETE cascade ON UPDATE no action;
