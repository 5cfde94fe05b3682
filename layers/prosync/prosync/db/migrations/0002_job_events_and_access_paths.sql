-- The job history and the indexes behind the API's access paths.
CREATE TABLE job_events (
    id           bigserial PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES video_jobs (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_status  text,
    to_status    text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX idx_job_events_job_id ON job_events (job_id, id);

-- list: the caller's jobs newest first with a (created_at, id) cursor, optionally by status
CREATE INDEX idx_video_jobs_user_created ON video_jobs (user_id, created_at DESC, id DESC);
CREATE INDEX idx_video_jobs_user_status_created ON video_jobs (user_id, status, created_at DESC, id DESC);
CREATE UNIQUE INDEX uq_video_jobs_user_idempotency ON video_jobs (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
