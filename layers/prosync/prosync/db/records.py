"""Database rows as pydantic models (separate from the API models on purpose)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from prosync.jobs.status import JobStatus
from prosync.settings import Tier


class UserRecord(BaseModel):
    id: str
    email: str | None
    tier: Tier
    created_at: datetime


class NewJob(BaseModel):
    id: UUID
    user_id: str
    is_pro_job: bool
    segments_data: list[dict[str, Any]]
    inputs: dict[str, Any]
    options: dict[str, Any]
    model: str
    output_file_name: str | None = None
    idempotency_key: str | None = None


class JobRecord(BaseModel):
    id: UUID
    user_id: str
    status: JobStatus
    stage: str
    is_pro_job: bool
    segments_data: list[dict[str, Any]]
    inputs: dict[str, Any]
    options: dict[str, Any]
    model: str
    output_file_name: str | None
    sync_generation_id: str | None
    execution_arn: str | None
    result_key: str | None
    result_size: int | None
    output_duration: float | None
    error_code: str | None
    error_message: str | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    # Sync.so in production (migration 0004); defaults so rows read before it still validate
    queued_at: datetime | None = None
    queue_seen_at: datetime | None = None
    attempt: int = 0
    generation_retries: int = 0
    progress_percent: int | None = None
    estimated_cost: dict[str, Any] | None = None
    task_token: str | None = None
    poll_state: dict[str, Any] | None = None


class JobEvent(BaseModel):
    id: int
    job_id: UUID
    at: datetime
    from_status: JobStatus | None
    to_status: JobStatus
    detail: dict[str, Any]
