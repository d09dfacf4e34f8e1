"""How a diff reports a secret field without ever showing it (SPEC §8).

SOPS ciphertext changes whenever a file is re-encrypted (a fresh IV per value, a new data key
after ``qv secrets rotate``), so differing ciphertext does not mean a changed secret. For each
secret field whose rendered values differ, ``Openings.resolver`` decides:

- ``None``: the same plaintext under new ciphertext (the change is dropped);
- ``"(secret changed)"``: the plaintexts differ (compared in memory, with the key at hand);
- ``"(encrypted; no key to compare)"``: a side cannot be opened with the keys at hand;
- ``Shown(old, new)``: the plaintexts differ and ``--decrypt`` asked to see them. Only then is a
  file opened with its MAC checked (like ``render --decrypt``), and a file no key opens is an
  error naming its recipients instead of a label.

Only fields whose ciphertexts differ cost anything. The file holding a ciphertext is found by
its IV (random per value, written verbatim by sops) with one ``git grep`` per side, then opened
once per run: ciphertext -> plaintext is a function (AES-GCM authenticates the value under its
file's data key and key path), so what one side's file teaches serves every side. Plaintexts
live in this process's memory only: never in a cache file or a message, and in a ``FieldChange``
only under ``--decrypt``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from qv_config.ciphertext import looks_encrypted
from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from qv_config.secrets.keyring import KeyRing

is_ciphertext = looks_encrypted  # the name diff's callers use
SECRET_CHANGED = "(secret changed)"
NO_KEY_TO_COMPARE = "(encrypted; no key to compare)"
_IV = re.compile(r",iv:([A-Za-z0-9+/=]+),")
_NEEDLES_PER_GREP = 1000  # keeps one git command line well under the OS limit


@dataclass(frozen=True, slots=True)
class Shown:
    """A changed secret's plaintexts, revealed because ``--decrypt`` asked for them."""

    old: Any = field(repr=False)
    new: Any = field(repr=False)


@dataclass(frozen=True, slots=True)
class SecretQuery:
    """One secret field whose rendered values differ: ``old``/``new`` hold ciphertext."""

    ref: str
    path: FieldPath
    old: Any
    new: Any


Label = str | Shown | None
SecretResolver = Callable[[Sequence[SecretQuery]], Sequence[Label]]
"""Labels for secret fields, one per query: None (unchanged: drop it), the text to show, or the
plaintexts to show (``--decrypt``)."""


def ciphertexts(value: Any) -> list[str]:
    """The sops-encrypted leaves of a value (a secret may be a mapping or list of them)."""
    if is_ciphertext(value):
        return [value]
    if isinstance(value, Mapping):
        return [c for item in value.values() for c in ciphertexts(item)]
    if isinstance(value, list):
        return [c for item in value for c in ciphertexts(item)]
    return []


def _reveal(value: Any, known: Mapping[str, Any]) -> tuple[bool, Any]:
    """(all opened, the value with plaintext leaves): in memory, for comparing only."""
    if is_ciphertext(value):
        return (True, known[value]) if value in known else (False, None)
    if isinstance(value, Mapping):
        items = {k: _reveal(v, known) for k, v in value.items()}
        return all(ok for ok, _ in items.values()), {k: v for k, (_, v) in items.items()}
    if isinstance(value, list):
        pairs = [_reveal(v, known) for v in value]
        return all(ok for ok, _ in pairs), [v for _, v in pairs]
    return True, value


def _equal(a: Any, b: Any) -> bool:
    # Configuration tells 1, 1.0 and true apart; canonical JSON does too (like compute._same).
    try:
        return bool(
            orjson.dumps(a, option=orjson.OPT_SORT_KEYS)
            == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
        )
    except TypeError:
        return type(a) is type(b) and bool(a == b)


def judge(
    queries: Sequence[SecretQuery], known: Mapping[str, Any], *, show: bool = False
) -> list[Label]:
    """Labels for ``queries`` given the plaintexts ``known`` (ciphertext -> plaintext);
    ``show``: a changed secret carries its plaintexts (``Shown``) instead of a label."""
    out: list[Label] = []
    for query in queries:
        known_old, old = _reveal(query.old, known)
        known_new, new = _reveal(query.new, known)
        if not (known_old and known_new):
            out.append(NO_KEY_TO_COMPARE)
        elif _equal(old, new):
            out.append(None)
        else:
            out.append(Shown(old, new) if show else SECRET_CHANGED)
    return out


def without_key(queries: Sequence[SecretQuery]) -> list[Label]:
    """The resolver when no key is at hand: differing ciphertext cannot be compared."""
    return judge(queries, {})


Read = Callable[[str], bytes | None]


@dataclass(frozen=True)
class SideFiles:
    """Where one side's encrypted values can live: ``folders`` at ``rev`` (None: work tree)."""

    root: Path
    rev: str | None
    folders: tuple[str, ...]
    read: Read
    git: bool

    def holding(self, values: Sequence[str]) -> set[str]:
        """Files (repo paths) whose text holds one of the ciphertexts ``values``."""
        needles = sorted({f"iv:{m.group(1)}," for v in values if (m := _IV.search(v))})
        if not self.git:
            return self._scan(needles)
        from qv_config.repo.history import grep_files

        found: set[str] = set()
        for start in range(0, len(needles), _NEEDLES_PER_GREP):
            chunk = needles[start : start + _NEEDLES_PER_GREP]
            found |= grep_files(self.root, self.rev, chunk, list(self.folders))
        return found

    def _scan(self, needles: Sequence[str]) -> set[str]:
        """A work tree outside Git: read the candidate files (rare, and only for secrets)."""
        from qv_config.repo.source import WorkTreeSource

        wanted = [n.encode() for n in needles]
        found: set[str] = set()
        for path in WorkTreeSource(self.root).list_paths(self.folders):
            raw = self.read(path) if path.endswith((".yaml", ".yml")) else None
            if raw is not None and b"sops" in raw and any(n in raw for n in wanted):
                found.add(path)
        return found


@dataclass
class Openings:
    """The encrypted files one command has opened, and the plaintexts they taught (memory only).

    The key ring is loaded on first need (``key_file``, else ``SOPS_AGE_KEY_FILE``, else sops'
    default key file); with no key at all no file is searched or read, unless ``decrypt``: then
    every file holding a changed secret is opened like ``render --decrypt`` opens it (MAC
    checked; no key: exit 3 naming its recipients) and changed secrets come back as ``Shown``.
    """

    key_file: Path | None = None
    decrypt: bool = False
    known: dict[str, Any] = field(default_factory=dict, repr=False)
    _opened: set[bytes] = field(default_factory=set, repr=False)
    _ring: KeyRing | None = field(default=None, repr=False)
    _ring_loaded: bool = False

    def ring(self) -> KeyRing | None:
        if not self._ring_loaded:
            from qv_config.secrets.keyring import KeyRing

            ring = KeyRing.from_file(self.key_file)
            # Under --decrypt an empty ring is kept: opening a file with it names its recipients.
            self._ring = ring if ring.identities or self.decrypt else None
            self._ring_loaded = True
        return self._ring

    def resolver(self, old: SideFiles, new: SideFiles) -> SecretResolver:
        def resolve(queries: Sequence[SecretQuery]) -> list[Label]:
            if queries and self.ring() is not None:
                self.learn(old, [c for q in queries for c in ciphertexts(q.old)])
                self.learn(new, [c for q in queries for c in ciphertexts(q.new)])
            labels = judge(queries, self.known, show=self.decrypt)
            if self.decrypt:
                _all_opened(queries, labels)
            return labels

        return resolve

    def learn(self, side: SideFiles, values: Iterable[str]) -> None:
        """Open the files of ``side`` that hold ciphertexts not yet known."""
        missing = sorted({v for v in values if v not in self.known})
        if not missing:
            return
        for path in sorted(side.holding(missing)):
            raw = side.read(path)
            if raw is not None:
                self._open(path if side.rev is None else f"{path} at {side.rev[:10]}", raw)

    def _open(self, label: str, raw: bytes) -> None:
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if digest in self._opened:
            return
        self._opened.add(digest)
        from qv_config.yamlio import YamlError, load_bytes

        ring = self.ring()
        try:
            data = load_bytes(label, raw).data
        except YamlError:
            return  # reported by validation; here it only means "cannot compare"
        if ring is None or type(data) is not dict:
            return
        table = _decrypted(label, data, ring, raw) if self.decrypt else _compared(label, data, ring)
        if table:
            self.known.update(table)


def _compared(label: str, data: dict[str, Any], ring: KeyRing) -> dict[str, Any] | None:
    """ciphertext -> plaintext for comparing only (no value is shown: the MAC is not needed);
    a value altered outside sops is ``CheckFailed`` naming ``label`` and the field."""
    from qv_config.secrets.snapshot import open_ciphertexts

    return open_ciphertexts(data, ring, label)


def _decrypted(label: str, data: dict[str, Any], ring: KeyRing, raw: bytes) -> dict[str, Any]:
    """ciphertext -> plaintext for showing (``--decrypt``): the checks of ``render --decrypt``,
    so no key is ``OperationalError`` naming the recipients, tampering ``CheckFailed``."""
    from qv_config.secrets.decrypt import decrypt_data
    from qv_config.secrets.sopsfile import split_sops_metadata

    document, meta = split_sops_metadata(data, label)
    if meta is None:
        return {}
    table: dict[str, Any] = {}
    _pair(document, decrypt_data(label, data, ring, raw), table)
    return table


def _pair(cipher: Any, plain: Any, table: dict[str, Any]) -> None:
    if isinstance(cipher, Mapping) and isinstance(plain, Mapping):
        for key, value in cipher.items():
            _pair(value, plain.get(key), table)
    elif isinstance(cipher, list) and isinstance(plain, list):
        for a, b in zip(cipher, plain, strict=False):
            _pair(a, b, table)
    elif is_ciphertext(cipher):
        table[cipher] = plain


def _all_opened(queries: Sequence[SecretQuery], labels: Sequence[Label]) -> None:
    """Under --decrypt every changed secret must be shown: one no file opened is an error."""
    from qv_config.errors import OperationalError
    from qv_config.findings import dotted

    for query, label in zip(queries, labels, strict=True):
        if label == NO_KEY_TO_COMPARE:
            raise OperationalError(
                f"{query.ref}: no sops-encrypted file holds the value of {dotted(query.path)},"
                " so it cannot be decrypted",
                hint="run `qv validate`; re-encrypt the file with `qv secrets encrypt`",
            )
