"""Outbound network access to addresses we do not control (`prosync.net.guard`)."""
