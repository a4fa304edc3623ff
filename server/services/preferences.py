"""Notification preferences: which channels, and quiet hours (never applied to SOS or a live offer)."""
from __future__ import annotations

from sqlmodel import Session

from models.accounts import User
from models.notifications import NotificationPreference, PreferencesPublic, PreferencesUpdate
from server.errors import field_error


def get_preferences(*, session: Session, user: User) -> PreferencesPublic:
    """The user's preferences (the defaults when never set: every channel, no quiet hours)."""
    row = session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id)
    return PreferencesPublic.model_validate(row, from_attributes=True)


def update_preferences(*, session: Session, user: User, data: PreferencesUpdate) -> PreferencesPublic:
    """Change the fields given; quiet hours come as a pair (both null clears them)."""
    row = session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id)
    given = data.model_fields_set
    if ("quiet_start" in given) != ("quiet_end" in given) or (data.quiet_start is None) != (data.quiet_end is None):
        raise field_error("quiet_end", "请同时设置开始和结束时间 / give quiet_start and quiet_end together")
    for name in ("push", "sms"):
        if name in given and getattr(data, name) is not None:
            setattr(row, name, getattr(data, name))
    if "quiet_start" in given:
        row.quiet_start, row.quiet_end = data.quiet_start, data.quiet_end
    session.add(row)
    session.commit()
    return PreferencesPublic.model_validate(row, from_attributes=True)
