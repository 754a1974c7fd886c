"""What the portal accepts as an identifier and as a key, and how keys are hashed the way alchemiscale checks them."""

from __future__ import annotations

import re
import secrets

import bcrypt
from django.conf import settings

# Identifiers end up in alchemiscale's own identity queries, which paste them into Cypher text (docs/facts.md), so the
# portal only creates identifiers that cannot break out of a quoted string there.
IDENTIFIER_MAX = 128
IDENTIFIER_RULE = (
    f"an identifier is 1 to {IDENTIFIER_MAX} characters: it starts with a letter or digit and continues with letters, "
    "digits, '.', '_', '@', '+' or '-' (no spaces, quotes, backslashes, brackets, newlines or other control "
    "characters)"
)
_IDENTIFIER = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@+-]{{0,{IDENTIFIER_MAX - 1}}}")

KEY_MAX = 4096
KEY_RULE = f"a key is 1 to {KEY_MAX} characters with no NUL byte"
# bcrypt reads only the first 72 bytes of a key; alchemiscale checks with key.encode()[:72].
BCRYPT_KEY_BYTES = 72
BCRYPT_ROUNDS = 12


class IdentityError(ValueError):
    """Anything a caller did wrong or asked for that cannot be done; the message says what and why."""


class InvalidInput(IdentityError):
    pass


def check_scope_count(identifier: str, count: int, before: int = 0) -> None:
    """At most MAX_SCOPES_PER_IDENTITY scopes per identity. A change that does not add to an identity already over
    the cap (written past the portal, or before the cap was lowered) is allowed, so its scopes can be cut down."""
    cap = settings.MAX_SCOPES_PER_IDENTITY
    if count > cap and count > before:
        raise InvalidInput(
            f"{identifier!r} would have {count} scopes; at most {cap} scopes per identity "
            "(PORTAL_MAX_SCOPES_PER_IDENTITY): grant a wildcard such as org-*-* instead of many scopes under it"
        )


def validate_identifier(identifier: str) -> str:
    if not isinstance(identifier, str) or not _IDENTIFIER.fullmatch(identifier):
        raise InvalidInput(f"invalid identifier {identifier!r}: {IDENTIFIER_RULE}")
    return identifier


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"the key is empty: {KEY_RULE}")
    if len(key) > KEY_MAX:
        raise InvalidInput(f"the key has {len(key)} characters: {KEY_RULE}")
    if "\x00" in key:
        raise InvalidInput(f"the key contains a NUL byte: {KEY_RULE}")
    return key


def generate_key() -> str:
    """64 hex characters (256 bits), like alchemiscale's own generated keys, and under bcrypt's 72 bytes."""
    return secrets.token_hex(32)


def hash_key(key: str) -> str:
    validate_key(key)
    return bcrypt.hashpw(key.encode()[:BCRYPT_KEY_BYTES], bcrypt.gensalt(BCRYPT_ROUNDS, prefix=b"2b")).decode()


def key_matches(key: str, hashed_key: str) -> bool:
    """The check alchemiscale's APIs make."""
    return bcrypt.checkpw(key.encode()[:BCRYPT_KEY_BYTES], hashed_key.encode())


def unusable_hash() -> str:
    """A well-formed bcrypt hash of a secret nobody keeps: alchemiscale rejects every key against it without erroring."""
    return hash_key(secrets.token_hex(32))
