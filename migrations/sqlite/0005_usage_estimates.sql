-- A model call whose provider sent no `usage` is metered from an estimate of what was
-- sent and received; `estimated` = 1 marks such a row so reports can say so.
ALTER TABLE usage_ledger ADD COLUMN estimated BIGINT NOT NULL DEFAULT 0;
