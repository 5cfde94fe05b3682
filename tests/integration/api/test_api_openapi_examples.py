"""The OpenAPI document's examples work as they are (Swagger UI's "Try it out" unedited), and every
route documents its success answer with a schema."""

import json
from pathlib import Path

from tests.unit.api.apitest import call

OPENAPI = json.loads((Path(__file__).resolve().parents[3] / "docs" / "openapi.json").read_text())


def examples(path: str) -> list[dict]:
    body = OPENAPI["paths"][f"/api/v1{path}"]["post"]["requestBody"]["content"]["application/json"]
    return [e["value"] for e in body["examples"].values()]


def test_every_route_documents_its_success_with_a_schema():
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
            assert ok, f"{method} {path}: no 2xx"
            if path.endswith("/webhooks/syncso"):
                continue  # its answer is built by hand (`action`), not modelled
            for code, answer in ok.items():
                assert answer["content"]["application/json"]["schema"], f"{method} {path} {code}"


def test_the_create_and_edit_examples_succeed_as_they_are(api):
    for create in examples("/sync/pro-sync-process"):
        created = call("POST", "/sync/pro-sync-process", user="pro", body=create)
        assert created.status == 201, created.body
        for edit in examples("/sync/pro-job/{job_id}/edit"):
            edited = call("POST", f"/sync/pro-job/{created.body['jobId']}/edit", user="pro", body=edit)
            assert edited.status == 200, edited.body
