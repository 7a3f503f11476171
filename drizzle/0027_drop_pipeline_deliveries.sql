-- Deliveries are recorded in the outbox itself (a delivered change's status and delivered_at),
-- and pruned with it.
DROP TABLE "pipeline_deliveries" CASCADE;
