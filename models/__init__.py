"""SQLModel tables, API schemas and engine setup. Import the table modules so metadata is complete."""
from models import accounts, audit, complaints, events, notifications, places, providers, requests, seniors, sos  # noqa: F401
from models.accounts import AuthToken, StaffCommunity, User
from models.audit import AuditLog
from models.places import Community, District
from models.providers import Organization, Provider
from models.seniors import Assessment, FamilyLink, Senior

__all__ = [
    "Assessment", "AuditLog", "AuthToken", "Community", "District", "FamilyLink",
    "Organization", "Provider", "Senior", "StaffCommunity", "User",
]
