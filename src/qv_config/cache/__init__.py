"""The one cache of qv (``.qv/cache/``, safe to delete): memos of the pure pipeline, in one
format with one integrity check (``pack``). What each file keeps and why it is safe:
docs/performance.md, "The cache"."""
