ALTER TABLE "sources" ADD COLUMN "file_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "sources_type_repo_idx" ON "sources" USING btree ("type",lower("config"->>'repo'));--> statement-breakpoint
-- sources.file_count follows files through statement-level triggers: one update per source per
-- statement (a batch upsert of 100 files is one), whatever the number of rows. Updates of files
-- never move a row to another source, so inserts and deletes are all there is to count.
CREATE FUNCTION "files_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "sources" s SET "file_count" = s."file_count" + c.n
  FROM (SELECT "source_id", count(*)::int AS n FROM inserted GROUP BY "source_id") c
  WHERE s."id" = c."source_id";
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "files_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "sources" s SET "file_count" = s."file_count" - c.n
  FROM (SELECT "source_id", count(*)::int AS n FROM deleted GROUP BY "source_id") c
  WHERE s."id" = c."source_id";
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "files_count_inserted" AFTER INSERT ON "files" REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION "files_count_inserted"();--> statement-breakpoint
CREATE TRIGGER "files_count_deleted" AFTER DELETE ON "files" REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION "files_count_deleted"();--> statement-breakpoint
UPDATE "sources" s SET "file_count" = (SELECT count(*)::int FROM "files" f WHERE f."source_id" = s."id");
