"""Custom-resource handler (CDK Provider framework): apply the database migrations on deploy.

Create and Update run the migration runner (it skips what is applied already, so a re-run is safe);
Delete does nothing: the database and its data outlive a removed custom resource. An exception fails
the deployment (the framework reports it to CloudFormation, which rolls back).
"""

from aws_lambda_powertools import Logger

from prosync.db.connection import connect
from prosync.db.migrate import apply_migrations
from prosync.settings import DatabaseSettings

logger = Logger()
PHYSICAL_ID = "prosync-db-migrations"


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context) -> dict:
    request = event.get("RequestType")
    if request == "Delete":
        logger.info("delete: nothing to do")
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    if request not in ("Create", "Update"):
        raise ValueError(f"unknown RequestType {request!r}")
    with connect(DatabaseSettings()) as conn:
        applied = apply_migrations(conn)
    logger.info("migrations applied", extra={"applied": applied, "request": request})
    # Data values must stay small (4 KB response limit): versions only.
    return {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Applied": ",".join(applied) or "none", "Count": str(len(applied))},
    }
