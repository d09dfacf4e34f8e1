"""Response bodies of one served snapshot, made once and kept while it is served.

A document's body and ETag are computed on first use and carried over to the next snapshot
when its stored hash did not change, so a revalidation or a GET is a dict look-up and a write
of bytes already made. ETags name the SHA-256 of the stored value (``qv``'s hash of the
document, the one ``_meta``'s digest is made of); a masked body's ETag is the SHA-256 of the
masked body itself, never derived from the stored value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from qv_config.client.snapshot import Snapshot
from qv_config.serve.masking import SecretMarks, mask


@dataclass(frozen=True)
class Body:
    data: bytes
    etag: str  # quoted, as sent in the ETag header


@dataclass(frozen=True)
class Entry:
    """One document of a kind, as a list filters and pages it."""

    name: str
    labels: Mapping[str, Any]


class Views:
    """The bodies of ``snapshot`` for environment ``env``."""

    def __init__(
        self, snapshot: Snapshot, env: str, marks: SecretMarks, previous: Views | None = None
    ) -> None:
        self.snapshot, self.env, self.marks = snapshot, env, marks
        self._docs: dict[tuple[str, bool], Body] = {}
        if previous is not None:  # keep the bodies of documents whose stored value is the same
            live = set(snapshot.hashes.values())
            self._docs = {k: v for k, v in previous._docs.items() if k[0] in live}
        self._entries: dict[str, list[Entry]] = {}
        self._features: Body | None = None

    def document(self, slug: str, name: str, secrets: bool) -> Body | None:
        """The body of ``slug``/``name`` (None when not served); masked unless ``secrets``."""
        sha = self.snapshot.hashes.get(f"{self.env}/{slug}/{name}")
        if sha is None:
            return None
        body = self._docs.get((sha, secrets))
        if body is None:
            body = self._make(slug, name, sha, secrets)
            self._docs[sha, secrets] = body
        return body

    def _make(self, slug: str, name: str, sha: str, secrets: bool) -> Body:
        doc = self.snapshot.docs[slug, name]
        masked = False
        if not secrets:
            doc, masked = mask(doc, self.marks.patterns(doc))
        data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        # A masked body's tag is the hash of what the reader gets: the stored value's hash
        # would let a reader test a guess of the secret offline (mask the guess in, hash).
        etag = (
            f'"sha256-{hashlib.sha256(data).hexdigest()}-masked"' if masked else f'"sha256-{sha}"'
        )
        return Body(data, etag)

    def entries(self, slug: str) -> list[Entry]:
        """Every document of ``slug``, by name."""
        found = self._entries.get(slug)
        if found is None:
            prefix = f"{self.env}/{slug}/"
            names = sorted(k[len(prefix) :] for k in self.snapshot.hashes if k.startswith(prefix))
            found = [Entry(n, _labels(self.snapshot.docs[slug, n])) for n in names]
            self._entries[slug] = found
        return found

    def features(self) -> Body:
        """The Unleash client-features document of the snapshot's flags."""
        if self._features is None:
            data = orjson.dumps(features_of(self.snapshot, self.env), option=orjson.OPT_SORT_KEYS)
            self._features = Body(data, f'"{hashlib.sha256(data).hexdigest()[:32]}"')
        return self._features


def _labels(doc: Any) -> Mapping[str, Any]:
    labels = (doc.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def features_of(snapshot: Snapshot, env: str) -> dict[str, Any]:
    """The client-features document an Unleash SDK reads (``render --format unleash``'s)."""
    from qv_config.client.frozen import thaw
    from qv_config.flags.unleash import features_document

    flags = [thaw(doc) for (slug, _), doc in sorted(snapshot.docs.items()) if slug == "flag"]
    environment = snapshot.docs.get(("environment", env)) or {}
    segments = thaw((environment.get("spec") or {}).get("segments") or ())
    return features_document(flags, segments)
