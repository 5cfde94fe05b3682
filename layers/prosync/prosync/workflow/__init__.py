"""The logic behind the workflow Lambdas: jobstore actions, submit, poll, download.

Nothing here knows about Lambda events beyond plain dicts; `functions/<name>/handler.py` only wires
Powertools around one call. Errors raised to Step Functions are in `errors.py` (their class names are
matched by the state machine's Retry/Catch).
"""
