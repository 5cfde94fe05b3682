"""Live job events: `job_events` read as one ordered feed (ids are the event ids), turned into the
messages WebSocket clients and webhook receivers get (`feed`), a gap-safe reader of its head
(`head`), and the loop that fans them out (`notifier`)."""
