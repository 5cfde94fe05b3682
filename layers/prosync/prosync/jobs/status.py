"""Job statuses and the transitions between them: the only place they are defined.

    awaiting_upload -> queued -> submitting -> processing -> downloading -> completed
                                                   downloading -> removing_text -> completed
                                                   (text removal asked for: issue 16)
    any non-terminal -> failed | canceled;  awaiting_upload -> expired
    and two moves back that only the workflow makes, each through its own guarded query
    (`prosync.db.queue`), never through the generic transition:
    submitting -> queued      (requeue: Sync.so answered 429 concurrency_limit_reached)
    processing -> submitting  (a new attempt after a FAILED generation worth retrying)

A job holds one of the organisation's Sync.so slots exactly while it is submitting or processing
(`SLOT_HOLDING`): every end releases its slot by construction.
"""

from enum import StrEnum


class JobStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    QUEUED = "queued"
    SUBMITTING = "submitting"
    PROCESSING = "processing"
    DOWNLOADING = "downloading"
    REMOVING_TEXT = "removing_text"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED})
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.PROCESSING, JobStatus.DOWNLOADING,
                    JobStatus.REMOVING_TEXT})
SLOT_HOLDING = frozenset({JobStatus.SUBMITTING, JobStatus.PROCESSING})
# (from, to) of the workflow's moves back (see the module's docstring).
REQUEUE = (JobStatus.SUBMITTING, JobStatus.QUEUED)
NEW_ATTEMPT = (JobStatus.PROCESSING, JobStatus.SUBMITTING)

# to_status -> the statuses a job may be in for that move to be legal.
# Re-entering the same status is allowed for the workflow's steps so that a retried Lambda is a no-op
# that still succeeds (the guarded UPDATE matches and nothing moves backwards).
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED}),
    JobStatus.SUBMITTING: frozenset({JobStatus.QUEUED, JobStatus.SUBMITTING}),
    JobStatus.PROCESSING: frozenset({JobStatus.SUBMITTING, JobStatus.PROCESSING}),
    JobStatus.DOWNLOADING: frozenset({JobStatus.PROCESSING, JobStatus.DOWNLOADING}),
    JobStatus.REMOVING_TEXT: frozenset({JobStatus.DOWNLOADING, JobStatus.REMOVING_TEXT}),
    JobStatus.COMPLETED: frozenset({JobStatus.DOWNLOADING, JobStatus.REMOVING_TEXT}),
    JobStatus.FAILED: frozenset({JobStatus.AWAITING_UPLOAD} | ACTIVE),
    JobStatus.CANCELED: frozenset({JobStatus.AWAITING_UPLOAD} | ACTIVE),
    JobStatus.EXPIRED: frozenset({JobStatus.AWAITING_UPLOAD}),
    JobStatus.AWAITING_UPLOAD: frozenset(),
}

# What the status page shows: a stage name and a coarse progress per status.
STAGE: dict[JobStatus, tuple[str, int]] = {
    JobStatus.AWAITING_UPLOAD: ("upload", 0),
    JobStatus.QUEUED: ("queued", 10),
    JobStatus.SUBMITTING: ("submitting", 20),
    JobStatus.PROCESSING: ("lipsync", 40),
    JobStatus.DOWNLOADING: ("downloading", 90),
    JobStatus.REMOVING_TEXT: ("removing_text", 92),  # then up to 99 by chunks done
    JobStatus.COMPLETED: ("done", 100),
    JobStatus.FAILED: ("failed", 100),
    JobStatus.CANCELED: ("canceled", 100),
    JobStatus.EXPIRED: ("expired", 100),
}


def allowed_from(to_status: JobStatus) -> frozenset[JobStatus]:
    return ALLOWED_FROM[to_status]
