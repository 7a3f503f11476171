-- A chunk is known by its file and its ordinal: that index becomes the primary key, and the
-- serial id that nothing read (one sequence call per chunk written) goes.
ALTER TABLE "chunks" DROP COLUMN "id";--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_pkey" PRIMARY KEY USING INDEX "chunks_file_id_ordinal_key";
