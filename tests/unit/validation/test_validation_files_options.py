"""File, refId, option, tier and upload rules of DESIGN §3, and the create runner."""

import math
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from prosync import validation as v
from prosync.models import AUDIO_TYPES, VIDEO_TYPES, FileDeclaration, ProSyncProcessRequest, SyncOptions
from tests.unit.api.apitest import job_request
from tests.unit.validation.vtools import PRO, fails, locs, req


def test_free_tier_is_forbidden_with_a_clear_message():
    error = fails(v.check_tier, None, status=403)
    assert "Pro or Enterprise" in error.message
    assert v.check_tier(PRO) is PRO


def test_too_many_active_jobs_is_429():
    fails(v.check_active_jobs, PRO.max_active_jobs, PRO, status=429)
    v.check_active_jobs(PRO.max_active_jobs - 1, PRO)


@pytest.mark.parametrize("name, content_type, field", [
    ("talk.mkv", "video/x-matroska", "contentType"),  # type not allowed
    ("talk.mkv", "video/mp4", "fileName"),  # extension not allowed
    ("talk", "video/mp4", "fileName"),  # no extension
    ("talk.webm", "video/mp4", "fileName"),  # both allowed, but they disagree
])
def test_video_type_by_content_type_and_extension(name, content_type, field):
    video = FileDeclaration(file_name=name, content_type=content_type, size=1)
    assert locs(fails(v.check_file_type, video, VIDEO_TYPES, ["body", "video"])) == [["body", "video", field]]


@pytest.mark.parametrize("name, content_type", [
    ("a.mp4", "video/mp4"), ("a.MOV", "video/quicktime"), ("a.webm", "video/webm"),
    ("a.avi", "video/x-msvideo")])
def test_allowed_videos(name, content_type):
    video = FileDeclaration(file_name=name, content_type=content_type, size=1)
    v.check_file_type(video, VIDEO_TYPES, ["video"])


@pytest.mark.parametrize("name, content_type", [
    ("a.wav", "audio/wav"), ("a.mp3", "audio/mpeg"), ("a.ogg", "audio/ogg"), ("a.flac", "audio/flac"),
    ("a.m4a", "audio/mp4"), ("a.aac", "audio/aac")])
def test_allowed_audios(name, content_type):
    v.check_file_type(FileDeclaration(file_name=name, content_type=content_type, size=1), AUDIO_TYPES, ["a"])


def test_audio_types_refused():
    audio = FileDeclaration(file_name="a.mp4", content_type="video/mp4", size=1)
    assert locs(fails(v.check_file_type, audio, AUDIO_TYPES, ["body", "audios", 0])) == [
        ["body", "audios", 0, "contentType"]]
    audio = FileDeclaration(file_name="a.opus", content_type="audio/ogg", size=1)
    assert locs(fails(v.check_file_type, audio, AUDIO_TYPES, ["body", "audios", 0])) == [
        ["body", "audios", 0, "fileName"]]


def test_sizes_must_be_positive():
    request = req()
    request.audios[1].size = 0
    assert locs(fails(v.check_positive_sizes, request)) == [["body", "audios", 1, "size"]]


def test_declared_sizes_one_byte_over_the_tier_cap_are_413():
    request = req()
    request.video.size, request.audios[0].size = PRO.max_video_bytes, PRO.max_audio_bytes
    v.check_file_sizes(request, PRO)  # exactly at the cap is fine
    request.video.size, request.audios[1].size = PRO.max_video_bytes + 1, PRO.max_audio_bytes + 1
    error = fails(v.check_file_sizes, request, PRO, status=413)
    assert locs(error) == [["body", "video", "size"], ["body", "audios", 1, "size"]]


@pytest.mark.parametrize("ref_id", ["", "has space", "a" * 65, "dot.ted", "ü"])
def test_ref_id_pattern(ref_id):
    request = req()
    request.audios[1].ref_id = ref_id
    assert locs(fails(v.check_ref_ids, request.audios)) == [["body", "audios", 1, "refId"]]


def test_ref_ids_are_unique():
    request = req()
    request.audios[1].ref_id = "intro"
    assert locs(fails(v.check_ref_ids, request.audios)) == [["body", "audios", 1, "refId"]]


def test_ref_ids_are_generated_when_absent():
    body = job_request()
    del body["audios"][0]["refId"], body["audios"][1]["refId"]
    request = ProSyncProcessRequest.model_validate(body)
    assert [a.ref_id for a in request.audios] == ["audio-1", "audio-2"]
    v.check_ref_ids(request.audios)


@pytest.mark.parametrize("model", ["lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "react-1", "sync-3"])
def test_known_models(model):
    v.check_model(model)


def test_unknown_model():
    assert locs(fails(v.check_model, "lipsync-9")) == [["body", "model"]]


def test_sync_mode_enum():
    for mode in ("bounce", "loop", "cut_off", "silence", "remap"):
        v.check_sync_options(SyncOptions(sync_mode=mode))
    error = fails(v.check_sync_options, SyncOptions(sync_mode="stretch"))
    assert locs(error) == [["body", "options", "sync_mode"]]


@pytest.mark.parametrize("temperature", [-0.01, 1.01, math.nan])
def test_temperature_between_0_and_1(temperature):
    options = SyncOptions.model_construct(temperature=temperature, sync_mode=None)
    assert locs(fails(v.check_sync_options, options)) == [["body", "options", "temperature"]]
    v.check_sync_options(SyncOptions(temperature=0))
    v.check_sync_options(SyncOptions(temperature=1))


@pytest.mark.parametrize("name", ["", "with space", "dub.mp4", "x" * 256, "../up"])
def test_output_file_name_pattern(name):
    assert locs(fails(v.check_output_file_name, name)) == [["body", "outputFileName"]]
    v.check_output_file_name("x" * 255)
    v.check_output_file_name(None)


def test_models_refuse_unknown_fields_and_non_finite_numbers():
    with pytest.raises(ValidationError) as caught:
        ProSyncProcessRequest.model_validate(job_request(extra=1))
    assert caught.value.errors()[0]["loc"] == ("extra",)
    body = job_request()
    body["segments"][0]["startTime"] = math.inf
    with pytest.raises(ValidationError):
        ProSyncProcessRequest.model_validate(body)


def test_validate_create_gives_403_first_then_every_422_then_413():
    body = job_request(model="nope", outputFileName="a b")
    body["video"]["size"] = PRO.max_video_bytes + 1
    fails(v.validate_create, ProSyncProcessRequest.model_validate(body), None, 300.0, status=403)
    error = fails(v.validate_create, ProSyncProcessRequest.model_validate(body), PRO, 300.0)
    assert locs(error) == [["body", "model"], ["body", "outputFileName"]]
    del body["model"], body["outputFileName"]
    error = fails(v.validate_create, ProSyncProcessRequest.model_validate(body), PRO, 300.0, status=413)
    assert locs(error) == [["body", "video", "size"]]
    assert v.validate_create(req(), PRO, 300.0) is PRO


DECLARED = FileDeclaration(file_name="talk.mp4", content_type="video/mp4", size=1000)


def test_uploaded_object_must_exist():
    error = fails(v.check_uploaded_object, ["video"], "video 'talk.mp4'", DECLARED, None, 5000)
    assert error.code == "upload_missing" and "talk.mp4" in error.message and locs(error) == [["video"]]


def test_uploaded_object_no_bigger_than_declared_or_cap():
    head = {"size": 1001, "content_type": "video/mp4"}
    error = fails(v.check_uploaded_object, ["video"], "v", DECLARED, head, 5000, status=413)
    assert locs(error) == [["video"]]
    head = {"size": 900, "content_type": "video/mp4"}
    fails(v.check_uploaded_object, ["video"], "v", DECLARED, head, 800, status=413)
    v.check_uploaded_object(["video"], "v", DECLARED, head, 5000)


def test_uploaded_content_type_must_match():
    head = {"size": 10, "content_type": "application/octet-stream"}
    assert fails(v.check_uploaded_object, ["video"], "v", DECLARED, head, 5000).code == "upload_invalid"


def test_probed_media_must_be_what_was_declared():
    info = SimpleNamespace(format_name="mov,mp4,m4a,3gp,3g2,mj2", has_video=True, has_audio=False,
                           duration=4.0)
    v.check_media_kind(["video"], "v", "video", DECLARED, info)
    fails(v.check_media_kind, ["video"], "v", "audio", DECLARED, info)  # no audio stream
    no_video = SimpleNamespace(**{**vars(info), "has_video": False})
    fails(v.check_media_kind, ["video"], "v", "video", DECLARED, no_video)
    webm = SimpleNamespace(**{**vars(info), "format_name": "matroska,webm"})
    assert "not mp4" in fails(v.check_media_kind, ["video"], "v", "video", DECLARED, webm).message
    no_duration = SimpleNamespace(**{**vars(info), "duration": None})
    fails(v.check_media_kind, ["video"], "v", "video", DECLARED, no_duration)


@pytest.mark.parametrize("name", ["ta\x00lk.mp4", "ta\ud800lk.mp4", "ta\nlk.mp4", "t" * 1021 + ".mp4"])
def test_file_names_postgres_and_utf8_cannot_hold_are_refused(name):
    video = FileDeclaration(file_name=name, content_type="video/mp4", size=1)
    assert locs(fails(v.check_file_name, video, ["body", "video"])) == [["body", "video", "fileName"]]


def test_ordinary_file_names_pass():
    for name in ["talk.mp4", "Ünïcödé take 2 (final).mp4", "t" * 1020 + ".mp4"]:
        v.check_file_name(FileDeclaration(file_name=name, content_type="video/mp4", size=1), ["video"])
