"""The database's deploy-time and operator entry point (in the VPC, IAM auth through RDS Proxy).

1. CloudFormation custom resource (CDK Provider framework; the event has a `RequestType`): Create and
   Update run the migration runner (it skips what is applied, so a re-run is safe; it waits up to
   3 minutes, with backoff, for the database to accept connections); Delete does
   nothing, the database and its data outlive a removed custom resource. An exception fails the
   deployment, which CloudFormation rolls back.
2. Operator, by direct invoke (docs/DEPLOY.md): `{"action": "set_tier", "userId": "<JWT sub>",
   "tier": "pro", "email": "..."}` gives a user a tier; the VPC has no bastion for psql.
"""

from aws_lambda_powertools import Logger
from prosync.db.connection import connect
from prosync.db.migrate import apply_migrations, connect_with_retry
from prosync.db.repository import JobRepository
from prosync.settings import DatabaseSettings, Tier

logger = Logger()
PHYSICAL_ID = "prosync-db-migrations"


def _custom_resource(event: dict) -> dict:
    request = event["RequestType"]
    if request == "Delete":
        logger.info("delete: nothing to do")
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    if request not in ("Create", "Update"):
        raise ValueError(f"unknown RequestType {request!r}")
    # The proxy may not reach the instance yet on a first deploy: wait for it, bounded.
    with connect_with_retry(lambda: connect(DatabaseSettings())) as conn:
        applied = apply_migrations(conn)
    logger.info("migrations applied", extra={"applied": applied, "request": request})
    # Data values must stay small (4 KB response limit): versions only.
    return {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Applied": ",".join(applied) or "none", "Count": str(len(applied))},
    }


def _set_tier(event: dict) -> dict:
    user_id, tier = event.get("userId"), Tier(event.get("tier"))  # ValueError on an unknown tier
    if not user_id:
        raise ValueError("userId (the user's JWT sub) is required")
    with connect(DatabaseSettings()) as conn:
        user = JobRepository(conn).set_tier(user_id, tier, event.get("email"))
    logger.info("tier set", extra={"user_id": user.id, "tier": user.tier.value})
    return {"userId": user.id, "email": user.email, "tier": user.tier.value}


@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict, context) -> dict:
    if "RequestType" in event:
        return _custom_resource(event)
    if event.get("action") == "set_tier":
        return _set_tier(event)
    raise ValueError("expected a CloudFormation custom-resource event or {'action': 'set_tier', ...}")
