"""``POST /v2/analyze/cost``: the create body, validated the same way, priced like Sync.so bills.

Sync.so bills a generation by its output frames x the model's price per frame (support FAQ); the
models page lists prices per second at 25 fps. The emulator's output is the whole input video (its
frames, its frame rate), so:

    estimatedFrameCount     = round(video duration x video frame rate)       (video fetched and probed)
    estimatedGenerationCost = estimatedFrameCount x PRICE_PER_SECOND[model] / 25   (USD, 6 decimals)

Prices are the upper (pay-as-you-go) list prices where published: lipsync-2 $0.05/s, lipsync-2-pro
$0.083/s, sync-3 $0.133/s; lipsync-1.9.0-beta and react-1 are not published here and are assumed at
$0.05/s and $0.083/s. A video that cannot be fetched or probed -> 422 ``cost_estimate_unavailable``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx

from .media import RenderFailure, fetch, probe_video
from .problems import ApiProblem

PRICE_FPS = 25
PRICE_PER_SECOND = {
    "lipsync-2": 0.05,
    "lipsync-2-pro": 0.083,
    "sync-3": 0.133,
    "lipsync-1.9.0-beta": 0.05,  # assumed
    "react-1": 0.083,  # assumed
}


def estimate_cost(body: dict[str, Any], http: httpx.Client) -> list[dict[str, Any]]:
    """The answer of /v2/analyze/cost for a validated create body."""
    video = next(item for item in body["input"] if item["type"] == "video")
    with tempfile.TemporaryDirectory(prefix="syncso-emulator-cost-") as workdir:
        try:
            path = fetch(http, video["url"], Path(workdir) / "video", "cost_estimate_unavailable", "video")
            duration, rate = probe_video(path)
        except RenderFailure as exc:
            raise ApiProblem(
                422, f"cost estimate unavailable: {exc.message}", "cost_estimate_unavailable"
            ) from None
    frames = round(duration * float(rate))
    cost = frames * PRICE_PER_SECOND[body["model"]] / PRICE_FPS
    return [{"estimatedFrameCount": frames, "estimatedGenerationCost": round(cost, 6)}]
