-- A batch of a sync attempt is written by one statement that adds to its job's counters first
-- (the job's row locked before the source's): when the source's fence is no longer the
-- attempt's, this raises, so that the whole statement, counters included, rolls back.
CREATE FUNCTION "assert_sync_fence"("current" bigint, "mine" bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF "current" IS DISTINCT FROM "mine" THEN
    RAISE EXCEPTION 'This sync attempt was superseded (cancelled, taken over or its source deleted).'
      USING ERRCODE = 'DC001';
  END IF;
  RETURN true;
END $$;
