-- Web processes cache which sources follow a repository (lib/webhooks/followers.ts) and drop
-- the cache on this notification: any change to a source's type, config or webhook secret, and
-- any source added or removed. file_count, status and cursor change often and matter to no
-- webhook, so they notify nothing.
CREATE FUNCTION "sources_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sources_changed', '');
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "sources_changed_notify" AFTER INSERT OR DELETE OR UPDATE OF "type", "config", "webhook_secret" ON "sources"
  FOR EACH STATEMENT EXECUTE FUNCTION "sources_changed_notify"();--> statement-breakpoint
CREATE TRIGGER "sources_truncated_notify" AFTER TRUNCATE ON "sources"
  FOR EACH STATEMENT EXECUTE FUNCTION "sources_changed_notify"();
