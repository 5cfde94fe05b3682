"""`prosync sweep [--expire-after S] [--stalled-after S]`: one run of the job sweeper against the
running `prosync up` stack (on AWS the sweeper Lambda runs every 15 minutes): expires jobs awaiting
their uploads too long, fails jobs whose execution is missing or over; prints the counts as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

from devstack.stackstate import StackInfo


def register(sub) -> None:
    parser = sub.add_parser("sweep", help="expire abandoned jobs and fail stuck ones (one sweeper run)")
    parser.add_argument("--expire-after", type=int, default=None, metavar="SECONDS",
                        help="expire jobs awaiting their uploads this long (default 86400, at least 900)")
    parser.add_argument("--stalled-after", type=int, default=None, metavar="SECONDS",
                        help="check queued/running jobs unchanged this long (default 900, at least 60)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default $PROSYNC_HOME or ~/.prosync")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pydantic import ValidationError

    from prosync.db.connection import connect
    from prosync.db.repository import JobRepository
    from prosync.jobs import sweep
    from prosync.settings import SweeperSettings

    info = StackInfo.for_command(args.state_dir)
    if info is None:
        return 1
    chosen = {"sweep_expire_after_seconds": args.expire_after,
              "sweep_stalled_after_seconds": args.stalled_after}
    try:
        settings = SweeperSettings(database_url=info.database_url, media_bucket=info.bucket,
                                   **{k: v for k, v in chosen.items() if v is not None})
    except ValidationError as exc:
        print(f"prosync sweep: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    region = info.state_machine_arn.split(":")[3]
    sfn, s3 = (boto3.client(service, endpoint_url=info.aws_endpoint_url or None, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
               for service in ("stepfunctions", "s3"))
    with connect(settings) as conn:
        try:
            counts = sweep.run(JobRepository(conn), settings, sfn, s3)
        except sweep.SweepIncomplete as exc:
            print(f"sweep incomplete (AWS calls failed): {exc}", file=sys.stderr)
            return 1
    print(json.dumps(counts))
    return 0
