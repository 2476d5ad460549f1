"""Notification: one inbox row per recipient, with the state of its e-mail; deliveries by the other channels
(SMS, WeCom, DingTalk, webhooks), their attempts, each user's channels and the duty groups."""
import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime, str_enum
from app.extensions import db


class MailState(str, enum.Enum):
    NONE = "none"        # inbox only (no mail wanted, mail off, or no address)
    PENDING = "pending"  # waiting for the next delivery run
    SENDING = "sending"  # claimed by one delivery run
    SENT = "sent"
    FAILED = "failed"    # gave up after MAIL_MAX_ATTEMPTS


class Notification(db.Model):
    """Carries no student name or answer: a kind, a case number and a link inside the app."""

    __tablename__ = "notifications"
    # The same event never reaches the same person twice (e.g. two sweeps escalating one alert).
    __table_args__ = (UniqueConstraint("user_id", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(255))
    dedup_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[MailState] = mapped_column(str_enum(MailState), default=MailState.NONE, index=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    def __repr__(self):
        return f"<Notification id={self.id} kind={self.kind} user={self.user_id}>"


class DeliveryState(str, enum.Enum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by one delivery run
    SENT = "sent"        # the provider took it
    FAILED = "failed"    # given up: CHANNEL_MAX_ATTEMPTS reached, or refused for good (a wrong number, a bad key)


class Delivery(db.Model):
    """One notice to one person or duty group by one channel. Queued in the transaction that made the notice,
    sent after its commit. Like a Notification it carries a kind, a case number, the level and a link only."""

    __tablename__ = "deliveries"
    # None is sent twice for one event: one row per event, channel and recipient, claimed before each send.
    __table_args__ = (UniqueConstraint("event", "channel", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(80))          # "alert:12:opened", or "notification:<id>"
    channel: Mapped[str] = mapped_column(String(20))        # sms, wecom_app, wecom_robot, dingtalk_robot, webhook
    recipient: Mapped[str] = mapped_column(String(24))      # "user:<id>" or "group:<id>"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duty_group_id: Mapped[int | None] = mapped_column(ForeignKey("duty_groups.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    kind: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(16))          # critical / high / referral: what the recipient chose
    case_number: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(255))
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), default=DeliveryState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_answer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The one-tap acknowledgement link in this message was used (it works once).
    ack_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts_made: Mapped[list["DeliveryAttempt"]] = relationship(back_populates="delivery",
                                                                  order_by="DeliveryAttempt.id")
    user = relationship("User")
    duty_group = relationship("DutyGroup")

    def __repr__(self):
        return f"<Delivery id={self.id} {self.channel} {self.recipient} {self.state.value}>"


class DeliveryAttempt(db.Model):
    """Each try: when, and what the provider answered (never a secret, never the message)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ok: Mapped[bool] = mapped_column(Boolean)
    answer: Mapped[str] = mapped_column(String(200))

    delivery: Mapped[Delivery] = relationship(back_populates="attempts_made")

    def __repr__(self):
        return f"<DeliveryAttempt id={self.id} delivery={self.delivery_id} ok={self.ok}>"


class UserChannel(db.Model):
    """A person's own channel (SMS number, WeCom user id), verified by a code sent through it, and the levels
    they want on it besides critical alerts (which always go to every verified channel, at any hour)."""

    __tablename__ = "user_channels"
    __table_args__ = (UniqueConstraint("user_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(EncryptedText)
    levels: Mapped[list] = mapped_column(JSON, default=list)   # of "high", "referral"
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user = relationship("User")

    def __repr__(self):
        return f"<UserChannel id={self.id} user={self.user_id} {self.channel}>"


class DutyGroup(db.Model):
    """A school's or a hospital's duty group: a WeCom or DingTalk group robot, or a signed webhook into the
    hospital's own system. Its address and secret are credentials: encrypted at rest like clinical text."""

    __tablename__ = "duty_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(EncryptedText)
    secret: Mapped[str | None] = mapped_column(EncryptedText)
    levels: Mapped[list] = mapped_column(JSON, default=list)   # of "high" (critical alerts always)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    school = relationship("School")
    hospital = relationship("Hospital")

    def __repr__(self):
        return f"<DutyGroup id={self.id} {self.channel} school={self.school_id} hospital={self.hospital_id}>"
