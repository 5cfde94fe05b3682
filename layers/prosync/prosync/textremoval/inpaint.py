"""Filling the masked pixels of one image plane.

1. Temporal: where a neighbouring frame shows the pixel (its own mask leaves it out), take the median
   of the neighbours' values there (a caption that comes and goes, a region with a time range: the
   background is right there a few frames away).
2. Spatial: what no neighbour shows, OpenCV's inpainting (Telea) from the surrounding pixels.
Only a crop around the mask is touched, so the rest of the plane stays bit-identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RADIUS = 3  # px: the neighbourhood Telea weighs each filled pixel from


def chroma_mask(mask: np.ndarray) -> np.ndarray:
    """The 4:2:0 chroma mask of a luma mask: a chroma sample is masked when any of its 2x2 is."""
    h, w = mask.shape
    padded = np.zeros((h + h % 2, w + w % 2), dtype=bool)
    padded[:h, :w] = mask
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).any(axis=(1, 3))


def bbox(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (slice(max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)),
            slice(max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)))


def fill_plane(plane: np.ndarray, mask: np.ndarray,
               neighbours: Sequence[tuple[np.ndarray, np.ndarray | None]] = (),
               radius: int = RADIUS, temporal: bool = True) -> np.ndarray:
    """A copy of `plane` (uint8, 2-D) with its `mask`ed pixels filled. `neighbours`: (plane, mask)
    of nearby frames (mask None: nothing hidden there)."""
    import cv2

    box = bbox(mask, 2 * radius + 1)
    if box is None:
        return plane
    out = plane.copy()
    crop, todo = out[box], mask[box].copy()
    # a neighbour hiding the very same pixels (the same mask object: `MaskMaker` caches them) shows nothing
    neighbours = [(n, m) for n, m in neighbours if m is not mask] if temporal else []
    if neighbours:
        values = np.stack([n[box] for n, _ in neighbours]).astype(np.float32)
        visible = np.stack([np.ones(todo.shape, bool) if m is None else ~m[box] for _, m in neighbours])
        found = todo & visible.any(axis=0)
        if found.any():
            picked = values[:, found]
            picked[~visible[:, found]] = np.nan
            crop[found] = np.clip(np.rint(np.nanmedian(picked, axis=0)), 0, 255).astype(np.uint8)
            todo &= ~found
    if todo.any():
        crop[...] = cv2.inpaint(np.ascontiguousarray(crop), todo.astype(np.uint8) * 255, radius,
                                cv2.INPAINT_TELEA)
    return out
