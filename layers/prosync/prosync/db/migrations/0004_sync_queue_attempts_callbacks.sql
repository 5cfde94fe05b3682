-- Sync.so in production: the fair queue under the organisation's concurrency limit, attempts,
-- the webhook callback (task token + the poll state it resumes), progress and the cost estimate.
-- Only jobstore writes these columns (the api's webhook route clears task_token under the same lock).
ALTER TABLE video_jobs
    ADD COLUMN queued_at          timestamptz,            -- the job's place in line (kept when put back)
    ADD COLUMN queue_seen_at      timestamptz,            -- last time its execution asked for a slot
    ADD COLUMN attempt            integer NOT NULL DEFAULT 0,  -- Sync.so attempts made (Idempotency-Key {id}-{n})
    ADD COLUMN generation_retries integer NOT NULL DEFAULT 0,  -- new attempts after a retryable FAILED
    ADD COLUMN progress_percent   smallint,               -- Sync.so's percent of the current generation
    ADD COLUMN estimated_cost     jsonb,                  -- {usd, frames} from POST /v2/analyze/cost
    ADD COLUMN task_token         text,                   -- the waiting execution's callback token
    ADD COLUMN poll_state         jsonb;                  -- the poll state that token resumes

-- Jobs queued before this migration keep their order.
UPDATE video_jobs SET queued_at = COALESCE(started_at, updated_at), queue_seen_at = updated_at
    WHERE status = 'queued';

-- The line: queued jobs by (queued_at, id), liveness included so the claim reads the index only.
CREATE INDEX idx_video_jobs_queue ON video_jobs (queued_at, id) INCLUDE (queue_seen_at)
    WHERE status = 'queued';
-- The slots in use: jobs submitting or processing (a handful of rows however big the table).
CREATE INDEX idx_video_jobs_in_flight ON video_jobs (status) WHERE status IN ('submitting', 'processing');
-- A webhook finds its job by Sync.so's generation id.
CREATE INDEX idx_video_jobs_generation ON video_jobs (sync_generation_id) WHERE sync_generation_id IS NOT NULL;

-- Verified webhooks that found no job waiting for them yet (the generation ended before its id was
-- recorded, or while the execution was between states): await_generation reads them.
CREATE TABLE syncso_webhook_inbox (
    generation_id  text PRIMARY KEY,
    status         text NOT NULL,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_syncso_webhook_inbox_received ON syncso_webhook_inbox (received_at);
