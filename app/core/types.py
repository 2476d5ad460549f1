"""Column types: aware UTC timestamps and encrypted clinical text."""
from datetime import timezone

from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator

from app.core import crypto


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns aware datetimes, also on SQLite which drops the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EncryptedText(TypeDecorator):
    """Clinical free text, encrypted at rest with authenticated encryption (Fernet)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return crypto.encrypt(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return crypto.decrypt(value)


def str_enum(enum_cls, length=32):
    """A portable enum column: VARCHAR with a CHECK constraint, storing the enum's values."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [member.value for member in e],
        name=enum_cls.__name__.lower(),
    )
