"""Refused create requests, each answered with its status and field path, writing nothing: no job row,
no S3 object. They share one database and one moto (module scope): nothing is ever written."""

import copy

import pytest

from prosync.settings import TierSettings
from tests.unit.api.apitest import job_request, segments

PRO, ENT = TierSettings().pro, TierSettings().enterprise


@pytest.fixture
def api(shared_api):
    return shared_api


def refused(api, body, user="pro"):
    answer = api.create(body, user=user)
    assert api.job_rows() == 0 and api.objects() == [], "a refused request wrote something"
    return answer


def mutated(change):
    body = job_request()
    change(body)
    return body


ONE_AUDIO = job_request()["audios"][:1]
CASES = {
    "unknown top-level field": (mutated(lambda b: b.update(priority="high")), 422, ["body", "priority"]),
    "unknown nested field": (mutated(lambda b: b["video"].update(url="http://x")), 422,
                             ["body", "video", "url"]),
    "no segments": (job_request(segments=[]), 422, ["body", "segments"]),
    "6 segments on pro": (job_request(audios=ONE_AUDIO, segments=segments(6)), 422, ["body", "segments"]),
    "negative start": (mutated(lambda b: b["segments"][1].update(startTime=-1)), 422,
                       ["body", "segments", 1, "startTime"]),
    "end before start": (mutated(lambda b: b["segments"][1].update(endTime=0.0)), 422,
                         ["body", "segments", 1, "endTime"]),
    "overlap": (mutated(lambda b: b["segments"][0].update(startTime=1.5)), 422, ["body", "segments", 0]),
    "unknown refId": (mutated(lambda b: b["segments"][1]["audioInput"].update(refId="nope")), 422,
                      ["body", "segments", 1, "audioInput", "refId"]),
    "one-sided crop": (mutated(lambda b: b["segments"][0]["audioInput"].pop("endTime")), 422,
                       ["body", "segments", 0, "audioInput", "endTime"]),
    "crop end before start": (mutated(lambda b: b["segments"][0]["audioInput"].update(endTime=0.1)), 422,
                              ["body", "segments", 0, "audioInput", "endTime"]),
    "crop over 300 s": (mutated(lambda b: b["segments"][0]["audioInput"].update(endTime=301)), 422,
                        ["body", "segments", 0, "audioInput"]),
    "unused audio": (mutated(lambda b: b["audios"].append(
        {"refId": "spare", "fileName": "s.wav", "contentType": "audio/wav", "size": 9})), 422,
        ["body", "audios", 2, "refId"]),
    "video type": (mutated(lambda b: b["video"].update(contentType="video/x-matroska")), 422,
                   ["body", "video", "contentType"]),
    "video extension": (mutated(lambda b: b["video"].update(fileName="talk.exe")), 422,
                        ["body", "video", "fileName"]),
    "audio type": (mutated(lambda b: b["audios"][0].update(contentType="text/plain")), 422,
                   ["body", "audios", 0, "contentType"]),
    "size zero": (mutated(lambda b: b["audios"][0].update(size=0)), 422, ["body", "audios", 0, "size"]),
    "refId pattern": (mutated(lambda b: b["audios"][0].update(refId="in tro")), 422,
                      ["body", "audios", 0, "refId"]),
    "duplicate refId": (mutated(lambda b: b["audios"][1].update(refId="intro")), 422,
                        ["body", "audios", 1, "refId"]),
    "model": (job_request(model="lipsync-3"), 422, ["body", "model"]),
    "sync_mode": (job_request(options={"sync_mode": "stretch"}), 422, ["body", "options", "sync_mode"]),
    "temperature": (job_request(options={"temperature": 1.5}), 422, ["body", "options", "temperature"]),
    "outputFileName": (job_request(outputFileName="out.mp4"), 422, ["body", "outputFileName"]),
    # text Postgres cannot store (NUL) or UTF-8 cannot encode (a lone surrogate) was a 500
    "NUL in a file name": (mutated(lambda b: b["video"].update(fileName="ta\u0000lk.mp4")), 422,
                           ["body", "video", "fileName"]),
    "lone surrogate in a file name": (mutated(lambda b: b["audios"][1].update(fileName="out\ud800ro.mp3")),
                                      422, ["body", "audios", 1, "fileName"]),
    "file name over 1024 characters": (mutated(lambda b: b["video"].update(fileName="t" * 1021 + ".mp4")),
                                       422, ["body", "video", "fileName"]),
    "video one byte over": (mutated(lambda b: b["video"].update(size=PRO.max_video_bytes + 1)), 413,
                            ["body", "video", "size"]),
    "audio one byte over": (mutated(lambda b: b["audios"][1].update(size=PRO.max_audio_bytes + 1)), 413,
                            ["body", "audios", 1, "size"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_requests_write_nothing(api, name):
    body, status, loc = copy.deepcopy(CASES[name])
    answer = refused(api, body)
    assert answer.status == status, answer.body
    assert loc in answer.locs, answer.body


def test_eleven_segments_on_enterprise(api):
    answer = refused(api, job_request(audios=ONE_AUDIO, segments=segments(11)), user="ent")
    assert answer.status == 422 and answer.locs == [["body", "segments"]]


def test_enterprise_sizes_one_byte_over(api):
    body = job_request()
    body["video"]["size"], body["audios"][0]["size"] = ENT.max_video_bytes + 1, ENT.max_audio_bytes + 1
    answer = refused(api, body, user="ent")
    assert answer.status == 413 and answer.locs == [["body", "video", "size"], ["body", "audios", 0, "size"]]


def test_free_tier_is_403_saying_what_is_needed(api):
    answer = refused(api, job_request(), user="free")
    assert answer.status == 403 and answer.code == "tier_forbidden" and "Pro or Enterprise" in answer.body[
        "error"]["message"]


def test_a_new_user_is_created_on_the_free_tier_and_refused(api):
    answer = refused(api, job_request(), user="newcomer")
    assert answer.status == 403 and api.repo.ensure_user("newcomer").email == "newcomer@example.com"


def test_bad_idempotency_key_is_422(api):
    answer = api.create(key="has space")
    assert answer.status == 422 and answer.locs == [["header", "Idempotency-Key"]] and api.job_rows() == 0
