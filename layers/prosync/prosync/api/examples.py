"""Request examples of the OpenAPI document: each valid as it is, so that Swagger UI's "Try it out"
succeeds without editing (create answers 201 for any Pro or Enterprise token; edit needs the id of one
of your jobs still awaiting its uploads). A test sends each one through the handler."""

CREATE = {
    "two-audios": {
        "summary": "A 2-segment job: one audio whole, one cropped",
        "value": {
            "model": "lipsync-2-pro",
            "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": 10485760},
            "audios": [
                {"refId": "intro", "fileName": "intro.wav", "contentType": "audio/wav", "size": 480000},
                {"refId": "outro", "fileName": "outro.mp3", "contentType": "audio/mpeg", "size": 120000},
            ],
            "segments": [
                {"startTime": 0.0, "endTime": 2.5, "audioInput": {"refId": "intro"}},
                {"startTime": 4.0, "endTime": 6.0,
                 "audioInput": {"refId": "outro", "startTime": 0.5, "endTime": 2.5}},
            ],
            "options": {"sync_mode": "cut_off", "temperature": 0.5},
            "outputFileName": "talk_dubbed",
        },
    },
}

EDIT = {
    "move-a-segment": {
        "summary": "New segments and options for the job made by the create example",
        "value": {
            "segments": [
                {"startTime": 0.0, "endTime": 2.0, "audioInput": {"refId": "intro"}},
                {"startTime": 3.0, "endTime": 5.0,
                 "audioInput": {"refId": "outro", "startTime": 0.5, "endTime": 2.5}},
            ],
            "options": {"sync_mode": "loop"},
            "outputFileName": "talk_dubbed_v2",
        },
    },
}
