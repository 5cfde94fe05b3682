"""The HTTP API's use cases: they take and return pydantic models and know nothing of Lambda events.

Every function takes the `Caller` (the JWT's sub and email), a `JobRepository` and the `ApiSettings`;
AWS clients come from `prosync.aws`. Errors are `prosync.errors.ProSyncError`s.
"""

from prosync.api.cancel import cancel_job
from prosync.api.common import Caller
from prosync.api.create import create_job
from prosync.api.edit import ProJobEditRequest, edit_job
from prosync.api.queries import get_limits, get_status, list_jobs
from prosync.api.start import start_job

__all__ = ["Caller", "ProJobEditRequest", "cancel_job", "create_job", "edit_job", "get_limits", "get_status",
           "list_jobs", "start_job"]
