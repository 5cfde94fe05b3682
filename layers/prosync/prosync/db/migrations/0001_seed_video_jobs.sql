-- The seed's schema: users and video_jobs with segments_data JSONB (GIN) and is_pro_job (btree).
CREATE TABLE users (
    id          text PRIMARY KEY,                       -- the JWT sub
    email       text,
    tier        text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE video_jobs (
    id                  uuid PRIMARY KEY,
    user_id             text NOT NULL REFERENCES users (id),
    status              text NOT NULL,
    stage               text NOT NULL,
    is_pro_job          boolean NOT NULL DEFAULT false,
    segments_data       jsonb NOT NULL,
    inputs              jsonb NOT NULL,                 -- keys, types, sizes, durations per file
    options             jsonb NOT NULL DEFAULT '{}'::jsonb,
    model               text NOT NULL,
    output_file_name    text,
    sync_generation_id  text,
    execution_arn       text,
    result_key          text,
    result_size         bigint,
    output_duration     double precision,
    error_code          text,
    error_message       text,
    idempotency_key     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz
);

CREATE INDEX idx_video_jobs_segments_data ON video_jobs USING gin (segments_data);
CREATE INDEX idx_video_jobs_is_pro_job ON video_jobs (is_pro_job);
