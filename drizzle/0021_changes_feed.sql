CREATE TABLE "changes_pruned" (
	"source_id" uuid PRIMARY KEY NOT NULL,
	"owner_id" uuid,
	"seq" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "redelivery_generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "changes_pruned_owner_id_idx" ON "changes_pruned" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "changes_owner_id_seq_idx" ON "changes" USING btree ("owner_id","seq");--> statement-breakpoint
-- The changes feed never skips a change that commits after a larger `seq` was served. Every
-- transaction that appends to `changes` first holds a shared advisory lock whose key (in the
-- two-key form, classid 0x44430000 + high bits, objid low bits) is at most any `seq` it will
-- allocate; `changes_feed_horizon()` answers the smallest `seq` that a transaction still in
-- progress may hold, and the feed serves only rows below it (see lib/changes/list-changes.ts).
CREATE FUNCTION "changes_reserve_seq"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  next_seq bigint;
BEGIN
  IF current_setting('data_connector.changes_reserved', true) IS DISTINCT FROM 'on' THEN
    SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO next_seq FROM "changes_seq_seq";
    PERFORM pg_advisory_xact_lock_shared(
      (1145258496 + (next_seq >> 32))::int4,
      ((next_seq & 4294967295) - CASE WHEN (next_seq & 4294967295) >= 2147483648 THEN 4294967296 ELSE 0 END)::int4
    );
    PERFORM set_config('data_connector.changes_reserved', 'on', true);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "changes_reserve_seq" BEFORE INSERT ON "changes" FOR EACH STATEMENT EXECUTE FUNCTION "changes_reserve_seq"();
--> statement-breakpoint
-- Read the sequence first, then the locks: a writer that reserved after the first read
-- allocates above it, and one that reserved before it is seen holding its lock.
CREATE FUNCTION "changes_feed_horizon"() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  next_seq bigint;
  held bigint;
BEGIN
  SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO next_seq FROM "changes_seq_seq";
  SELECT min(((l.classid::bigint - 1145258496) << 32) | l.objid::bigint) INTO held
  FROM pg_locks l
  WHERE l.locktype = 'advisory' AND l.objsubid = 2
    AND l.classid::bigint >= 1145258496 AND l.classid::bigint < 1145258496 + 65536
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
  RETURN least(next_seq, coalesce(held, next_seq));
END $$;
--> statement-breakpoint
-- Feed readers waiting for a change (`wait`) hear of every committed append.
CREATE FUNCTION "changes_appended_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('changes_appended', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "changes_appended_notify" AFTER INSERT ON "changes" FOR EACH STATEMENT EXECUTE FUNCTION "changes_appended_notify"();
