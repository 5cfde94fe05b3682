"""Helpers of the validation tests: build requests from the shared valid body, catch the error."""

from typing import Any

import pytest

from prosync.errors import ProSyncError
from prosync.models import ProSyncProcessRequest, SegmentRequest
from prosync.settings import TierSettings
from tests.unit.api.apitest import job_request

PRO = TierSettings().pro
ENTERPRISE = TierSettings().enterprise


def req(**overrides: Any) -> ProSyncProcessRequest:
    return ProSyncProcessRequest.model_validate(job_request(**overrides))


def seg(start: float, end: float, ref: str = "intro", crop: tuple | None = None,
        **audio: Any) -> SegmentRequest:
    audio_input = {"refId": ref, **audio}
    if crop is not None:
        audio_input.update(startTime=crop[0], endTime=crop[1])
    return SegmentRequest.model_validate({"startTime": start, "endTime": end, "audioInput": audio_input})


def fails(check, *args, status: int = 422, **kwargs) -> ProSyncError:
    """Run a rule that must fail; return its error after checking the HTTP status."""
    with pytest.raises(ProSyncError) as caught:
        check(*args, **kwargs)
    assert caught.value.status == status, caught.value
    return caught.value


def locs(error: ProSyncError) -> list[list]:
    return [d["loc"] for d in error.details]
