"""Districts and communities: reference data, imports, lookups by position."""
from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path

from sqlmodel import Session, func, select

from dispatch.catalog import CommunityKind, ServiceType
from models.places import Community, CommunityPublic, District, ServiceTypePublic
from server.errors import Invalid

REFERENCE = resources.files("models") / "reference"


def list_communities(*, session: Session) -> list[CommunityPublic]:
    """Every community, by district then name."""
    rows = session.exec(select(Community).order_by(Community.district, Community.name)).all()
    return [CommunityPublic.model_validate(c, from_attributes=True) for c in rows]


def list_service_types() -> list[ServiceTypePublic]:
    """The five service types with their Chinese and English names."""
    return [ServiceTypePublic(code=s.value, name_zh=s.name_zh, name_en=s.name_en) for s in ServiceType]


def ensure_reference_data(*, session: Session) -> int:
    """Load Chenzhou's districts and communities into an empty database; returns rows added."""
    if session.exec(select(func.count()).select_from(Community)).one():
        return 0
    with (REFERENCE / "chenzhou_districts.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            session.add(District(code=row["code"], name_zh=row["name_zh"], name_en=row["name_en"],
                                 kind=row["kind"], seat_lat=float(row["seat_lat"]),
                                 seat_lon=float(row["seat_lon"]),
                                 population_approx=int(row["population_approx"])))
    with (REFERENCE / "chenzhou_communities.csv").open(encoding="utf-8") as f:
        added = _add_communities(session, list(csv.DictReader(f)))
    session.commit()
    return added


def import_communities(*, session: Session, path: Path) -> int:
    """Load another area's communities from CSV (name,district,kind,lat,lon) or GeoJSON points."""
    text = path.read_text(encoding="utf-8-sig")
    rows = _geojson_rows(text) if path.suffix.lower() in (".geojson", ".json") else list(csv.DictReader(io.StringIO(text)))
    added = _add_communities(session, rows)
    session.commit()
    return added


def _geojson_rows(text: str) -> list[dict]:
    try:
        features = json.loads(text).get("features", [])
    except (ValueError, AttributeError) as exc:
        raise Invalid("不是 GeoJSON FeatureCollection / Not a GeoJSON FeatureCollection") from exc
    rows = []
    for number, feature in enumerate(features, start=1):
        try:
            geometry = feature.get("geometry") or {}
            if geometry.get("type") != "Point":
                raise Invalid("只支持点要素 / Only Point features are supported")
            lon, lat = geometry["coordinates"][:2]
            rows.append({**(feature.get("properties") or {}), "lat": lat, "lon": lon})
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise Invalid(f"第 {number} 个要素有误 / feature {number} is invalid: {exc}") from exc
    return rows


def _add_communities(session: Session, rows: list[dict]) -> int:
    """Check every row first, then add the new ones: a bad row anywhere adds nothing."""
    parsed = [_community_row(number, row) for number, row in enumerate(rows, start=1)]
    existing = {(c.district, c.name) for c in session.exec(select(Community)).all()}
    added = 0
    for community in parsed:
        if (community.district, community.name) not in existing:
            existing.add((community.district, community.name))
            session.add(community)
            added += 1
    return added


def _community_row(number: int, row: dict) -> Community:
    try:
        community = Community(name=row["name"].strip(), district=row["district"].strip(),
                              kind=CommunityKind(row.get("kind", "urban").strip()),
                              lat=float(row["lat"]), lon=float(row["lon"]),
                              synthetic=str(row.get("synthetic", "")).lower() in ("1", "true", "yes"))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise Invalid(f"第 {number} 行有误 / row {number} is invalid: {exc}") from exc
    if not (-90 <= community.lat <= 90 and -180 <= community.lon <= 180):
        raise Invalid(f"第 {number} 行坐标越界 / row {number}: coordinates out of range")
    return community
