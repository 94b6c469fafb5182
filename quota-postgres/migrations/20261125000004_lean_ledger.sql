-- Usage Quota Guardian: a leaner ledger insert, version 4.
--
-- Every consume appends a `usage_metric` row while it holds its counter's row lock, so every
-- index of the ledger is paid inside the lock window of a hot counter. No query or constraint
-- of the store reads the ledger by counter: replays join it on `id` (the primary key), resets
-- append rows, and the idempotency uniqueness lives in `usage_idempotency_keys`. The
-- (brand, metric, period, id) index only served ad hoc audit reads, which can scan the
-- append-only table (or use an index an operator adds on a replica), so it goes.
DROP INDEX IF EXISTS usage_metric_by_counter;
