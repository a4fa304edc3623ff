"""The fixed vocabularies of the domain: service types, roles, statuses."""
from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    MEAL = "meal"
    CLEANING = "cleaning"
    ESCORT = "escort"
    BATHING = "bathing"
    MEDICAL = "medical"

    @property
    def name_zh(self) -> str:
        return _SERVICE_NAMES[self][0]

    @property
    def name_en(self) -> str:
        return _SERVICE_NAMES[self][1]


_SERVICE_NAMES = {
    ServiceType.MEAL: ("助餐", "Meals"),
    ServiceType.CLEANING: ("助洁", "Cleaning"),
    ServiceType.ESCORT: ("助行", "Escort"),
    ServiceType.BATHING: ("助浴", "Bathing"),
    ServiceType.MEDICAL: ("助医", "Medical help"),
}


class Role(StrEnum):
    SENIOR = "senior"
    FAMILY = "family"
    PROVIDER = "provider"
    ORG_ADMIN = "org_admin"
    CENTER_STAFF = "center_staff"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in (Role.CENTER_STAFF, Role.ADMIN)


SELF_REGISTER_ROLES = (Role.SENIOR, Role.FAMILY, Role.PROVIDER)


class ProviderStatus(StrEnum):
    """Verification and credit standing of a provider or an organization."""

    PENDING = "pending"
    VERIFIED = "verified"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class CommunityKind(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class CareLevel(StrEnum):
    INDEPENDENT = "independent"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        """0 for independent up to 3 for severe: higher needs more care."""
        return list(CareLevel).index(self)
