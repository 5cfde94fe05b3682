"""Burnt-in text removal after lip-sync (issue 16).

- `regions`: the rectangles to clean (fractions of the frame, optional time range), their pixel masks
  per frame time, and the merging of detections over time into steady regions (no flicker).
- `detect`: RapidOCR's DB text detector (the ONNX model shipped in the `rapidocr` wheel, run by
  onnxruntime; no hub download), sampled every few frames.
- `inpaint`: per-plane fill of the masked pixels: from neighbouring frames where the pixel is visible
  (median), the rest by OpenCV's spatial inpainting (Telea).
- `video`: keyframes, cutting into chunks by stream copy, cleaning a chunk (decode, mask, inpaint,
  encode with libx264), joining the chunks by stream copy with the audio stream-copied from the source.
- `steps`: the workflow steps on S3 (plan, chunk, join, cleanup) the textremoval Lambda runs.
"""
