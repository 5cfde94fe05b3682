-- Live progress and client webhooks (issue 14).
--
-- job_events is the one ordered feed: its bigserial id is the event id a WebSocket client resumes
-- from and the webhook-id's source. Status changes already write their row (repository.transition,
-- queue moves); a change of Sync.so's percent within the same status (jobstore's set_progress /
-- store_wait, the webhook route) writes one here, so every progress change has an id too, without
-- touching the workflow's code.
CREATE FUNCTION prosync_progress_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status AND NEW.progress_percent IS NOT NULL
       AND NEW.progress_percent IS DISTINCT FROM OLD.progress_percent THEN
        INSERT INTO job_events (job_id, from_status, to_status, detail)
        VALUES (NEW.id, OLD.status, NEW.status,
                jsonb_build_object('progressPercent', NEW.progress_percent));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER trg_video_jobs_progress_event AFTER UPDATE OF progress_percent ON video_jobs
    FOR EACH ROW EXECUTE FUNCTION prosync_progress_event();

-- A user's webhook endpoints. The secret signs (Standard Webhooks, whsec_...); after a rotation the
-- previous one still signs too (a second signature) until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    user_id                     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                         text NOT NULL,
    description                 text,
    event_types                 text[] NOT NULL,
    enabled                     boolean NOT NULL DEFAULT true,
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_webhook_endpoints_user ON webhook_endpoints (user_id, created_at);

-- One row per (endpoint, event): its id is the webhook-id (the same on every attempt, so a receiver
-- deduplicates). state: pending (an attempt is due at next_attempt_at), delivered, dead (attempts
-- exhausted: in the dead-letter queue), gone (the endpoint was deleted).
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX idx_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- The delivery log: one row per attempt (status code or error, latency).
CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    latency_ms    integer,
    error         text,
    outcome       text NOT NULL  -- delivered | retry | dead | refused
);
CREATE INDEX idx_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);

-- Where the notifier has read job_events up to (one row per feed name), so a restart resumes.
CREATE TABLE event_cursors (
    name        text PRIMARY KEY,
    last_id     bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- AWS: the WebSocket API's connections (written by the websocket function at $connect/$disconnect)
-- and their subscriptions with each one's cursor (the notifier's per-subscription progress). The
-- local stack keeps the same subscriptions in memory (prosync.events.notifier.Subscriptions).
CREATE TABLE ws_connections (
    connection_id  text PRIMARY KEY,
    user_id        text NOT NULL,
    connected_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ws_subscriptions (
    id             bigserial PRIMARY KEY,
    connection_id  text NOT NULL REFERENCES ws_connections (connection_id) ON DELETE CASCADE,
    job_id         uuid,                -- NULL: all of the user's jobs
    user_id        text NOT NULL,
    cursor         bigint NOT NULL
);
CREATE UNIQUE INDEX uq_ws_subscriptions ON ws_subscriptions (connection_id, COALESCE(job_id::text, '*'));
