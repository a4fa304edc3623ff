"""communities.import_communities on SQLite and PostgreSQL: CSV and GeoJSON, all or nothing."""
from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from models.places import Community
from server.errors import Invalid
from server.services.communities import ensure_reference_data, import_communities
from server.steps.places import nearest_community

CSV = """name,district,kind,lat,lon
东塘社区,雨花区,urban,28.1740,113.0030
跳马镇,雨花区,rural,28.0320,113.0800
"""


def count(session) -> int:
    return session.exec(select(func.count()).select_from(Community)).one()


def test_the_reference_communities_are_loaded_once(db_session):
    assert count(db_session) >= 100  # Chenzhou's, loaded by the migration
    assert ensure_reference_data(session=db_session) == 0


def test_a_csv_adds_its_communities_once(db_session, tmp_path):
    path = tmp_path / "changsha.csv"
    path.write_text(CSV, encoding="utf-8")
    before = count(db_session)
    assert import_communities(session=db_session, path=path) == 2
    assert import_communities(session=db_session, path=path) == 0  # already there
    assert count(db_session) == before + 2
    town = db_session.exec(select(Community).where(Community.name == "跳马镇")).one()
    assert (town.district, town.kind, town.lat, town.lon) == ("雨花区", "rural", 28.032, 113.08)
    assert nearest_community(db_session, 28.17, 113.0).name == "东塘社区"


def test_a_geojson_file_adds_point_features(db_session, tmp_path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.0030, 28.1740]},
                 "properties": {"name": "东塘社区", "district": "雨花区", "kind": "urban"}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.08, 28.032]},
                 "properties": {"name": "跳马镇", "district": "雨花区", "kind": "rural", "synthetic": True}}]
    path = tmp_path / "changsha.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    assert import_communities(session=db_session, path=path) == 2
    town = db_session.exec(select(Community).where(Community.name == "跳马镇")).one()
    assert (town.lat, town.lon, town.synthetic) == (28.032, 113.08, True)


BAD_CSV = [
    CSV + "坏社区,雨花区,urban,north,113.0\n",  # not a number
    CSV + "坏社区,雨花区,urban,95.0,113.0\n",  # out of range
    CSV + "坏社区,雨花区,suburban,28.1,113.0\n",  # unknown kind
    CSV + "坏社区,雨花区\n",  # short row
    "name,kind,lat,lon\n东塘社区,urban,28.17,113.0\n",  # no district column
    CSV + "坏社区,雨花区,urban,nan,113.0\n",
]


@pytest.mark.parametrize("text", BAD_CSV, ids=["not-a-number", "out-of-range", "unknown-kind", "short-row",
                                               "no-district", "nan"])
def test_a_bad_csv_row_is_invalid_and_nothing_is_added(db_session, tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    before = count(db_session)
    with pytest.raises(Invalid):
        import_communities(session=db_session, path=path)
    db_session.commit()  # even a caller that carries on and commits has nothing half-imported
    assert count(db_session) == before


BAD_GEOJSON = [
    {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.0, 28.1]},
         "properties": {"name": "好社区", "district": "雨花区"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[113, 28], [113.1, 28], [113, 28.1]]]},
         "properties": {"name": "面", "district": "雨花区"}}]},
    {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.0, 28.1]},
         "properties": {"name": "好社区", "district": "雨花区"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.0]}, "properties": {"name": "坏"}}]},
    {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.0, 28.1]},
         "properties": {"name": "好社区", "district": "雨花区"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200.0, 28.1]},
         "properties": {"name": "越界", "district": "雨花区"}}]},
    [1, 2, 3],
    "{not json",
]


@pytest.mark.parametrize("content", BAD_GEOJSON, ids=["polygon", "short-coordinates", "out-of-range", "not-an-object",
                                                      "not-json"])
def test_a_bad_geojson_feature_is_invalid_and_nothing_is_added(db_session, tmp_path, content):
    path = tmp_path / "bad.geojson"
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False),
                    encoding="utf-8")
    before = count(db_session)
    with pytest.raises(Invalid):
        import_communities(session=db_session, path=path)
    db_session.commit()
    assert count(db_session) == before
