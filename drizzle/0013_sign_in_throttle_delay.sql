ALTER TABLE "sign_in_throttles" ADD COLUMN "last_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "sign_in_throttles_last_attempt_at_idx" ON "sign_in_throttles" USING btree ("last_attempt_at");--> statement-breakpoint
ALTER TABLE "sign_in_throttles" DROP COLUMN "window_started_at";