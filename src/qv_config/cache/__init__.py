"""The one cache of qv: memos of the pure pipeline (load → render → check), under ``.qv/cache/``.

One storage format (``pack``: named records, read on demand), one integrity mechanism (``seal``:
an HMAC per record under a per-user key kept outside the repository). What is kept, each entry
keyed by digests of everything its value depends on, so an authentic entry is either absent or
right, and a missing, damaged or foreign one only costs the work it would have saved:

- ``tree``: the work tree as the last run listed it (path → stat → digest, as Git's index), and
  which environments' validation memos were made from exactly that listing;
- ``parse``: parsed YAML values by content digest; Git blob ids → digests;
- ``results``: ``qv validate``'s findings per environment and per document, render records;
- ``templates``: values of template strings that do not read ``doc``, per context (data only);
- ``states``: rendered environments and desired-state hashes by Git input key.

No cache holds code: nothing read back is executed, imported or unpickled (values are plain
data in ``marshal``, decoded only after their MAC checks). Deleting ``.qv/`` is always safe.
"""
