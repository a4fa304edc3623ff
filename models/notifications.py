"""Web Push subscriptions, notification preferences, and deliveries (one per event, recipient and
channel) with the outbox events they come from."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field as PField
from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.deliveries import Channel, DeliveryStatus
from models.accounts import STRICT
from models.types import EnumText, UTCDateTime, utcnow


class PushSubscription(SQLModel, table=True):
    """One browser (device) of one user; a user may have several."""

    __tablename__ = "push_subscription"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    endpoint: str = Field(max_length=1000, unique=True)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class NotificationPreference(SQLModel, table=True):
    """A user's channels and quiet hours (local "HH:MM"); no row means the defaults."""

    __tablename__ = "notification_preference"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    push: bool = True
    sms: bool = True
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)


class EventNotice(SQLModel, table=True):
    """An outbox event already turned into deliveries: the dispatcher's claim (one row per event)."""

    __tablename__ = "event_notice"
    event_id: int = Field(sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                           ForeignKey("event.id"), primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Delivery(SQLModel, table=True):
    """One event to one recipient over one channel (and, for push, one device).

    The message is rendered from the event when sent: the outbox stays the one source of truth.
    A sender claims a due delivery by pushing next_attempt_at past a lease with a new claim token
    (a conditional UPDATE), so a sender that dies mid-send leaves it to be picked up after the lease.
    """

    __table_args__ = (UniqueConstraint("event_id", "user_id", "channel", "subscription_id", name="uq_delivery_once"),
                      Index("ix_delivery_due", "status", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("event.id"),
                                           nullable=False, index=True))
    user_id: int = Field(foreign_key="user.id", index=True)
    channel: Channel = Field(sa_column=Column(EnumText(Channel), nullable=False))
    subscription_id: int | None = None  # no foreign key: the record outlives a deleted subscription
    kind: str = Field(max_length=32)
    status: DeliveryStatus = Field(sa_column=Column(EnumText(DeliveryStatus), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claim: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


_B64URL = r"^[A-Za-z0-9_\-]+={0,2}$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PushKeys(SQLModel):
    model_config = STRICT
    p256dh: str = PField(min_length=80, max_length=120, pattern=_B64URL)
    auth: str = PField(min_length=16, max_length=40, pattern=_B64URL)


class PushSubscriptionCreate(SQLModel):
    """What the browser's PushSubscription.toJSON() gives (expirationTime is accepted and ignored)."""

    endpoint: str = PField(min_length=10, max_length=1000)
    keys: PushKeys
    expirationTime: int | None = None


class PushSubscriptionDelete(SQLModel):
    model_config = STRICT
    endpoint: str = PField(min_length=1, max_length=1000)


class PushSubscriptionPublic(SQLModel):
    id: int
    endpoint: str
    created_at: datetime


class PublicKey(SQLModel):
    public_key: str


class PreferencesPublic(SQLModel):
    push: bool
    sms: bool
    quiet_start: str | None
    quiet_end: str | None


class PreferencesUpdate(SQLModel):
    """Channels on or off, and quiet hours (local "HH:MM"; both or neither; never for SOS or a live offer)."""

    model_config = STRICT
    push: bool | None = None
    sms: bool | None = None
    quiet_start: str | None = PField(default=None, pattern=_HHMM)
    quiet_end: str | None = PField(default=None, pattern=_HHMM)


class DeliveryPublic(SQLModel):
    id: int
    event_id: int
    channel: Channel
    kind: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
