"""Print the HTTP API's OpenAPI document (`make openapi` writes it to docs/openapi.json).

The document is generated from the api handler's routes and pydantic models; a test fails when the
committed copy drifts from it.
"""

import sys


def render() -> str:
    from functions.api.handler import openapi_json

    return openapi_json() + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
