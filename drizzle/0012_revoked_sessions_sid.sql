DELETE FROM "revoked_sessions";--> statement-breakpoint
ALTER TABLE "revoked_sessions" RENAME COLUMN "jti" TO "sid";