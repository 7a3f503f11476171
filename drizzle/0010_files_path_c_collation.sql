-- files.path compares byte by byte: the (source_id, path) index then serves the file browser's
-- order, its cursor and its `path LIKE 'prefix%'` filter as one range scan. Under the database's
-- collation the planner could not use it for the prefix, and with a second (varchar_pattern_ops)
-- index it chose between filtering the ordered index and sorting the prefix's rows, flipping
-- between 20 ms and 900 ms on a 500,000-file source as its statistics changed.
DROP INDEX "files_source_id_path_pattern_idx";--> statement-breakpoint
ALTER TABLE "files" ALTER COLUMN "path" TYPE varchar(1024) COLLATE "C";--> statement-breakpoint
CREATE INDEX "webhook_events_created_at_idx" ON "webhook_events" USING btree ("created_at");
