"""argon2id password hashing at OWASP parameters; rehash when parameters rise; the password policy."""
import re
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_STRONG = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)  # tests only


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("PASSWORD_HASH_FAST") else _STRONG


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash of a random password with the current parameters: verifying against it for an unknown username
    costs what verifying a real account's password costs, so the answer's timing does not tell them apart."""
    hasher = _hasher()
    if id(hasher) not in _DUMMY_HASHES:
        _DUMMY_HASHES[id(hasher)] = hasher.hash(secrets.token_urlsafe(24))
    return _DUMMY_HASHES[id(hasher)]


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


# --- password policy: length and a shipped list of common passwords ---------------------------------

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING_NOISE = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (see the file's header for its source), lower-cased."""
    with open(_COMMON_FILE, encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip() and not line.startswith("# "))


def is_common(password: str) -> bool:
    """Listed as is, or a listed word padded with digits/symbols or repeated ('password123!', 'qwertyqwerty')."""
    common = common_passwords()
    lowered = password.lower()
    if lowered in common:
        return True
    stem = _TRAILING_NOISE.sub("", lowered)
    if len(stem) >= 4 and stem in common:
        return True
    for size in range(3, len(lowered) // 2 + 1):
        if len(lowered) % size == 0 and lowered[:size] * (len(lowered) // size) == lowered:
            return True
    return False


def password_problem(password: str, username: str | None = None) -> str | None:
    """None when acceptable, else a code: 'too_short', 'too_long', 'common', 'contains_username'."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    if username and len(username) >= 4 and username.lower() in password.lower():
        return "contains_username"
    if is_common(password):
        return "common"
    return None
