ALTER TABLE "sources" ADD COLUMN "webhook_token_hash" varchar(64);--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "body_hash" varchar(64);--> statement-breakpoint
CREATE INDEX "sources_type_webhook_id_idx" ON "sources" USING btree ("type","webhook_id");--> statement-breakpoint
CREATE INDEX "sources_type_webhook_token_hash_idx" ON "sources" USING btree ("type","webhook_token_hash");--> statement-breakpoint
CREATE INDEX "webhook_events_source_id_body_hash_idx" ON "webhook_events" USING btree ("source_id","body_hash");--> statement-breakpoint
-- Web processes cache which sources own a webhook (lib/webhooks/webhook-candidates.ts): their
-- webhook id and token hash matter too now.
DROP TRIGGER "sources_changed_notify" ON "sources";--> statement-breakpoint
CREATE TRIGGER "sources_changed_notify" AFTER INSERT OR DELETE OR UPDATE OF "type", "config", "webhook_id", "webhook_secret", "webhook_token_hash" ON "sources"
  FOR EACH STATEMENT EXECUTE FUNCTION "sources_changed_notify"();
