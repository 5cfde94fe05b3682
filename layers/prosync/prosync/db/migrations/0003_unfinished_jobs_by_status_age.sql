-- The sweeper's access path: unfinished jobs of one status, oldest change first. Partial, because
-- finished jobs (most of the table, and more every day) are never swept. Not CONCURRENTLY: the
-- runner applies each file in one transaction (the build blocks job writes for its duration).
CREATE INDEX idx_video_jobs_unfinished_status_updated ON video_jobs (status, updated_at, id)
    WHERE status IN ('awaiting_upload', 'queued', 'submitting', 'processing', 'downloading');
