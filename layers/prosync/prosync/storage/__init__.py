"""S3 access of the media bucket: presigned uploads and result links, ranged reads, streamed writes."""
