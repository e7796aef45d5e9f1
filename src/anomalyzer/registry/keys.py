"""API keys: ``azk_<id>_<secret>``; only the SHA-256 of the secret is stored.

The secret has 192 random bits, so a plain SHA-256 is enough (a slow password
hash guards guessable passwords, not random tokens) and checking a key costs
microseconds on every request.

>>> token = new_token("abc123")
>>> key_id, secret = split_token(token)
>>> key_id, len(secret) > 30, matches(secret, digest(secret))
('abc123', True, True)
>>> split_token("not a key") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SCOPES = ("score", "admin")
PREFIX = "azk"
_TOKEN = re.compile(r"^azk_([a-z0-9]{6,16})_([A-Za-z0-9_-]{20,100})$")


def new_id() -> str:
    """A short public id for a key (it names the key in listings and audit)."""
    return secrets.token_hex(6)


def new_token(key_id: str) -> str:
    """A fresh key with the given id: shown to the user once, never stored."""
    return f"{PREFIX}_{key_id}_{secrets.token_urlsafe(24)}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed key, else None."""
    found = _TOKEN.match(token.strip())
    return (found.group(1), found.group(2)) if found else None


def digest(secret: str) -> str:
    """What is stored for a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored``, in constant time."""
    return hmac.compare_digest(digest(secret), stored)


def allows(granted: str, needed: str) -> bool:
    """Whether a key of scope ``granted`` may use a route that needs ``needed`` (admin may do all).

    >>> allows("admin", "score"), allows("score", "admin")
    (True, False)
    """
    return granted == needed or granted == "admin"
