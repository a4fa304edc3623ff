"""Users, their sign-in tokens and the communities staff answer for."""
from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field as PField
from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.catalog import Role
from models.types import EnumText, Id, Name, Phone, UTCDateTime, utcnow

STRICT = ConfigDict(extra="forbid")
# Checked by the server (422 weak_password, not a schema error): said here for the OpenAPI document.
PASSWORD_RULE = ("At least 8 characters; not a common password, one character repeated or a simple sequence; "
                 "not the phone number or part of it. Otherwise 422 weak_password.")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(index=True, unique=True, max_length=11)
    name: str = Field(max_length=80)
    role: Role = Field(sa_column=Column(EnumText(Role), nullable=False, index=True))
    password_hash: str
    locale: str = Field(default="zh-CN", max_length=8)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AuthToken(SQLModel, table=True):
    """A sign-in: the bearer token's hash (the same token rides in the HttpOnly cookie)."""

    __tablename__ = "auth_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class StaffCommunity(SQLModel, table=True):
    """Which communities a center_staff member answers for."""

    __tablename__ = "staff_community"
    __table_args__ = (UniqueConstraint("user_id", "community_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)


class RegisterRequest(SQLModel):
    model_config = STRICT
    phone: Phone
    password: str = PField(min_length=1, max_length=128, description=PASSWORD_RULE)
    name: Name
    role: Role
    locale: str | None = PField(default=None, pattern=r"^(zh-CN|en)$")


class StaffCreate(SQLModel):
    """An admin creating any account, staff included."""

    model_config = STRICT
    phone: Phone
    password: str = PField(min_length=1, max_length=128, description=PASSWORD_RULE)
    name: Name
    role: Role
    community_ids: list[Id] = PField(default_factory=list, max_length=200)


class LoginRequest(SQLModel):
    model_config = STRICT
    phone: str = PField(min_length=1, max_length=20)
    password: str = PField(min_length=1, max_length=128)


class UserPublic(SQLModel):
    id: int
    phone: str
    name: str
    role: Role
    locale: str
    community_ids: list[int] = []
    # GET /me only: the newest event for this user so far; a socket's first connection passes it as
    # last_event_id, so nothing sent after this answer is missed.
    last_event_id: int | None = None


class UserEnvelope(SQLModel):
    user: UserPublic


class LoginResponse(SQLModel):
    token: str
    csrf_token: str
    expires_at: datetime
    user: UserPublic


class PasswordChange(SQLModel):
    """The signed-in user changes their password; their other sign-ins end."""

    model_config = STRICT
    current_password: str = PField(min_length=1, max_length=128)
    new_password: str = PField(min_length=1, max_length=128, description=PASSWORD_RULE)


class PasswordReset(SQLModel):
    """Staff set a new password for a user who forgot theirs; all the user's sign-ins end."""

    model_config = STRICT
    new_password: str = PField(min_length=1, max_length=128, description=PASSWORD_RULE)


class SessionsEnded(SQLModel):
    """How many of the user's sign-ins were ended (their sockets are disconnected too)."""

    user_id: int
    sessions_ended: int
