CREATE TABLE "drive_channels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid NOT NULL,
	"channel_id" varchar(64) NOT NULL,
	"resource_id" varchar(255),
	"sealed_token" text NOT NULL,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "account_id" varchar(255);--> statement-breakpoint
ALTER TABLE "drive_channels" ADD CONSTRAINT "drive_channels_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "drive_channels_channel_id_key" ON "drive_channels" USING btree ("channel_id");--> statement-breakpoint
CREATE INDEX "drive_channels_source_id_idx" ON "drive_channels" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "drive_channels_expires_at_idx" ON "drive_channels" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sources_type_account_id_idx" ON "sources" USING btree ("type","account_id");