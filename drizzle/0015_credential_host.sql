ALTER TABLE "credentials" ADD COLUMN "host" varchar(255);--> statement-breakpoint
-- A GitLab credential already in use stays bound to the host its sources call.
UPDATE "credentials" SET "host" = (
  SELECT substring(s."config"->>'host' from '^(https?://[^/]+)')
  FROM "sources" s
  WHERE s."config"->>'credentialId' = "credentials"."id"::text AND s."config"->>'host' IS NOT NULL
  LIMIT 1
) WHERE "provider" = 'gitlab';
