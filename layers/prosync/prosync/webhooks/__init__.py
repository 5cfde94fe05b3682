"""Client webhooks (issue 14): a user's endpoints, Standard Webhooks signatures, at-least-once
delivery with backoff and a dead-letter queue, a delivery log. Not Sync.so's inbound webhook
(that is prosync.syncso.webhooks)."""
