"""Plain factory functions for tests: each adds one object and flushes (the caller commits)."""
from __future__ import annotations

from types import SimpleNamespace

import itertools

from argon2 import PasswordHasher, profiles
from sqlmodel import Session, select

from dispatch.catalog import CommunityKind, ProviderStatus, Role
from models.accounts import StaffCommunity, User
from models.places import Community
from models.providers import Organization, Provider
from models.seniors import FamilyLink, Senior
from server import security

PASSWORD = "correct-horse-1"
# Verification follows the parameters stored in the hash: test users get argon2's cheapest profile
# so a login costs ~1 ms here instead of the production ~140 ms. The app's own hashing is untouched.
_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)
_phones = itertools.count(1)


def next_phone() -> str:
    """A fresh valid mainland mobile number."""
    return f"131{next(_phones):08d}"


def community(session: Session, name: str | None = None, district: str = "北湖区", lat: float = 25.79,
              lon: float = 113.01, kind: CommunityKind = CommunityKind.URBAN) -> Community:
    """A community (the reference ones are present too after migration)."""
    row = Community(name=name or f"测试社区{next(_phones)}", district=district, kind=kind, lat=lat, lon=lon)
    session.add(row)
    session.flush()
    return row


def first_community(session: Session) -> Community:
    """The first reference community (北湖区 …)."""
    return session.exec(select(Community).order_by(Community.id)).first()


def user(session: Session, role: Role, *, phone: str | None = None, name: str | None = None,
         communities: tuple[Community, ...] = ()) -> User:
    """A user of role with the shared test PASSWORD; staff answer for communities."""
    row = User(phone=phone or next_phone(), name=name or f"{role}-user", role=role, password_hash=_HASH)
    session.add(row)
    session.flush()
    for c in communities:
        session.add(StaffCommunity(user_id=row.id, community_id=c.id))
    session.flush()
    return row


def senior(session: Session, community: Community, *, owner: User | None = None, lat: float | None = None,
           lon: float | None = None, name: str = "王秀兰", **fields) -> Senior:
    """A senior living at the community centre unless lat/lon say otherwise."""
    row = Senior(name=name, address=f"郴州市{community.district}{community.name}1栋", lat=lat or community.lat,
                 lon=lon or community.lon, birth_year=1945, community_id=community.id,
                 user_id=owner.id if owner else None, **fields)
    session.add(row)
    session.flush()
    return row


def family_link(session: Session, senior_row: Senior, family: User, *, can_book: bool = True) -> FamilyLink:
    """Link family to a senior with the senior's consent."""
    row = FamilyLink(senior_id=senior_row.id, user_id=family.id, relation="子女", can_book=can_book,
                     consent_basis="senior_self", consented_by=family.id)
    session.add(row)
    session.flush()
    return row


def organization(session: Session, admin: User, community: Community, *, license_no: str | None = None) -> Organization:
    row = Organization(name="康乐居家养老服务中心", kind="company", license_no=license_no or f"LIC{next(_phones)}",
                       address="郴州市北湖区", lat=community.lat, lon=community.lon, community_id=community.id,
                       admin_user_id=admin.id, status=ProviderStatus.VERIFIED)
    session.add(row)
    session.flush()
    return row


def provider(session: Session, community: Community, *, owner: User | None = None, services=("meal", "cleaning"),
             status: ProviderStatus = ProviderStatus.VERIFIED, lat: float | None = None, lon: float | None = None,
             radius_km: float = 5.0, organization: Organization | None = None, on_duty: bool = False,
             **fields) -> Provider:
    """A provider based at the community centre unless lat/lon say otherwise."""
    owner = owner or user(session, Role.PROVIDER)
    row = Provider(user_id=owner.id, name=owner.name, services=list(services), certifications=[],
                   base_lat=lat or community.lat, base_lon=lon or community.lon, service_radius_km=radius_km,
                   community_id=community.id, status=status, on_duty=on_duty,
                   organization_id=organization.id if organization else None, **fields)
    session.add(row)
    session.flush()
    return row


def login(client, phone: str, password: str = PASSWORD) -> dict:
    """Sign in through the API; returns bearer headers."""
    response = client.post("/api/v1/auth/login", json={"phone": phone, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def bearer(session: Session, user_row: User, *, days: float = 1, revoked: bool = False) -> dict:
    """Bearer headers for a sign-in made directly in the database (skips the costly password check)."""
    from datetime import timedelta

    from models.accounts import AuthToken
    from models.types import utcnow

    token = security.new_token()
    now = utcnow()
    session.add(AuthToken(token_hash=security.token_digest(token), user_id=user_row.id, created_at=now,
                          expires_at=now + timedelta(days=days), revoked_at=now if revoked else None))
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def staff(session: Session, *communities: Community, role: Role = Role.CENTER_STAFF) -> User:
    """A center_staff member answering for communities (or an admin with role=Role.ADMIN)."""
    return user(session, role, communities=communities if role == Role.CENTER_STAFF else ())


def other_community(session: Session, than: Community) -> Community:
    """A reference community in another district than `than`."""
    return session.exec(select(Community).where(Community.district != than.district)
                         .order_by(Community.id)).first()


BARTHEL_FULL = {"feeding": 10, "bathing": 5, "grooming": 5, "dressing": 10, "bowels": 10, "bladder": 10,
                "toilet": 10, "transfers": 15, "mobility": 15, "stairs": 10}


def offset(lat: float, lon: float, north_km: float = 0.0, east_km: float = 0.0) -> tuple[float, float]:
    """A point about north_km / east_km from (lat, lon)."""
    import math

    return lat + north_km / 111.195, lon + east_km / (111.195 * math.cos(math.radians(lat)))


def provider_on_duty_at(session: Session, community: Community, *, lat: float | None = None,
                        lon: float | None = None, **fields) -> Provider:
    """A verified provider on duty at lat/lon (default the community centre) with a fresh duty
    position, based there too; its revision is bumped so a running app's directory sees it."""
    from models.types import utcnow
    from server.steps.directory import bump_revision

    lat, lon = lat or community.lat, lon or community.lon
    row = provider(session, community, lat=lat, lon=lon, on_duty=True, duty_lat=lat, duty_lon=lon,
                   duty_updated_at=utcnow(), **fields)
    bump_revision(session, row)
    session.flush()
    return row


def senior_and_provider(session: Session, *, north_km: float) -> SimpleNamespace:
    """A senior with an account at the first community, and one on-duty provider north_km north of
    its centre; with bearer headers for both (the caller commits)."""
    c = first_community(session)
    senior_user = user(session, Role.SENIOR)
    row = senior(session, c, owner=senior_user)
    p = provider_on_duty_at(session, c, lat=offset(c.lat, c.lon, north_km=north_km)[0])
    return SimpleNamespace(senior_id=row.id, provider_id=p.id, h_senior=bearer(session, senior_user),
                           h_provider=bearer(session, session.get(User, p.user_id)))


def token_of(headers: dict) -> str:
    """The bare token in bearer headers (for Socket.IO auth)."""
    return headers["Authorization"].removeprefix("Bearer ")


def on_duty_provider(session: Session, community: Community, *, km_east: float = 0.5, services=("meal",),
                     **fields) -> Provider:
    """A verified provider on duty with a fresh position km_east of the community centre."""
    from models.types import utcnow

    lon = community.lon + km_east / 100.3  # ~100 km per degree of longitude at Chenzhou's latitude
    return provider(session, community, lat=community.lat, lon=lon, services=services, on_duty=True,
                    duty_lat=community.lat, duty_lon=lon, duty_updated_at=utcnow(), **fields)


def phone_of(session: Session, user_id: int) -> str:
    """The phone number (login) of a user id."""
    return session.get(User, user_id).phone


def free_port() -> int:
    """A TCP port free on the loopback right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`linli serve` as a subprocess on a free loopback port (HTTP + Socket.IO), for tests that need
    a real server: `with LiveServer({"LINLI_INSTANCE_PATH": ...}, log=path) as server: server.url`."""

    def __init__(self, env: dict[str, str], *, log, scheduler: bool = False, port: int | None = None,
                 start_timeout: float = 90.0, procfile: str | None = None):
        # procfile="web" runs that line of the Procfile as written (gunicorn), on PORT, instead of `linli serve`.
        self.env, self.log_path, self.scheduler, self.procfile = env, log, scheduler, procfile
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.process = None

    def start(self) -> "LiveServer":
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path

        import requests

        root = Path(__file__).resolve().parents[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "FLASK_"))}
        env.update(self.env)
        cmd = [str(Path(sys.executable).parent / "linli"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.scheduler:
            cmd.append("--no-scheduler")
        if self.procfile:
            lines = dict(line.split(":", 1) for line in (root / "Procfile").read_text().splitlines() if ":" in line)
            env.update(PORT=str(self.port), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
            cmd = ["bash", "-c", "exec " + lines[self.procfile].strip()]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"linli serve exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).json() == {"status": "ok"}:
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"linli serve not healthy within {self.start_timeout} s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        from pathlib import Path

        try:
            return Path(self.log_path).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        import subprocess

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def fresh(session: Session) -> Session:
    """End the session's snapshot and forget loaded rows, to read what the app committed since."""
    session.rollback()
    session.expire_all()
    return session
