"""Key ring for clinical free text: MultiFernet, first key encrypts, all keys decrypt."""
import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

logger = logging.getLogger(__name__)
_ring: MultiFernet | None = None


class KeyError_(RuntimeError):
    """The key ring is missing or cannot read a stored value."""


def configure(keys: str) -> None:
    """Install the key ring from a comma-separated list of Fernet keys."""
    global _ring
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise KeyError_("CLINICAL_DATA_KEYS is empty")
    _ring = MultiFernet([Fernet(k.encode()) for k in parts])


def dev_keys(instance_dir: Path) -> str:
    """Development only: generate once and keep the key in instance/ so restarts can decrypt."""
    path = instance_dir / "clinical_data.key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def encrypt(text: str) -> str:
    if _ring is None:
        raise KeyError_("clinical data key ring is not configured")
    return _ring.encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if _ring is None:
        raise KeyError_("clinical data key ring is not configured")
    try:
        return _ring.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise KeyError_("stored clinical text cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored value under the first (newest) key."""
    if _ring is None:
        raise KeyError_("clinical data key ring is not configured")
    return _ring.rotate(token.encode("ascii")).decode("ascii")
