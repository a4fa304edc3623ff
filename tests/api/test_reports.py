"""GET /center/subsidies and /center/stats: JSON, CSV and XLSX; validation; who may see what."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from dispatch.catalog import CareLevel, Role
from dispatch.lifecycle import RequestStatus
from models.requests import ServiceRequest
from server.config import Settings, SettingsError
from tests import factories as f

WHEN = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    a = f.first_community(session)
    b = f.other_community(session, a)
    users = {"staff_a": f.staff(session, a), "staff_b": f.staff(session, b), "admin": f.user(session, Role.ADMIN),
             "senior": f.user(session, Role.SENIOR), "family": f.user(session, Role.FAMILY),
             "provider": f.user(session, Role.PROVIDER, name="=HYPERLINK(\"x\")"),
             "org_admin": f.user(session, Role.ORG_ADMIN)}
    p = f.provider(session, a, owner=users["provider"])
    senior = f.senior(session, a, owner=users["senior"], care_level=CareLevel.MODERATE)
    f.family_link(session, senior, users["family"])
    for checkout_km in (0.1, 0.1, 2.0):
        lat, lon = f.offset(senior.lat, senior.lon, north_km=checkout_km)
        session.add(ServiceRequest(senior_id=senior.id, community_id=a.id, service_type="meal", asap=True,
                                   status=RequestStatus.COMPLETED, scheduled_start=WHEN,
                                   scheduled_end=WHEN + timedelta(hours=1), provider_id=p.id,
                                   created_by=users["senior"].id,
                                   created_at=WHEN, assigned_at=WHEN + timedelta(minutes=3),
                                   checkin_at=WHEN + timedelta(minutes=20), checkin_lat=senior.lat,
                                   checkin_lon=senior.lon, checkout_at=WHEN + timedelta(minutes=80),
                                   checkout_lat=lat, checkout_lon=lon, completed_at=WHEN + timedelta(minutes=80)))
    headers = {role: f.bearer(session, u) for role, u in users.items()}
    session.commit()
    return {"a": a.id, "b": b.id, "h": headers}


def test_the_statement_as_json(client, world):
    r = client.get(f"/api/v1/center/subsidies?month=2026-11&community_id={world['a']}", headers=world["h"]["staff_a"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["rates"]["illustrative"] is True and body["rates"]["care_level_factor"]["moderate"] == 1.3
    assert [(x["care_level"], x["visits"], x["amount"]) for x in body["rows"]] == [("moderate", 2, 39.0)]
    assert body["totals"] == {"visits": 2, "amount": 39.0}
    assert [x["reason"] for x in body["flagged"]] == ["checkout_far"]


def test_the_statement_as_csv_reads_back(client, world):
    r = client.get("/api/v1/center/subsidies?month=2026-11&format=csv", headers=world["h"]["staff_a"])
    assert r.status_code == 200
    assert r.mimetype == "text/csv" and r.data.startswith("\ufeff".encode())
    assert r.headers["Content-Disposition"] == 'attachment; filename="subsidies-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["汇总 Statement"]
    header = rows.index(next(row for row in rows if row and row[0] == "机构ID Organization ID"))
    line = dict(zip(rows[header], rows[header + 1]))
    assert line["服务人员 Provider"] == "'=HYPERLINK(\"x\")"  # a name never runs as a formula
    assert (line["护理等级 Care level"], line["次数 Visits"], line["金额 Amount (CNY)"]) == ("moderate", "2", "39.0")
    assert rows[header + 2][0] == "合计 Total" and rows[header + 2][-2:] == ["2", "39.0"]
    flagged = rows.index(["异常 Flagged"])
    assert rows[flagged + 2][4:] == ["checkout_far", "签退点距老人住址超过 300 米"]


def test_the_statement_as_xlsx_loads_back(client, world):
    r = client.get("/api/v1/center/subsidies?month=2026-11&format=xlsx", headers=world["h"]["admin"])
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["汇总 Statement", "异常 Flagged"]
    rows = [list(row) for row in book["汇总 Statement"].iter_rows(values_only=True)]
    total = next(row for row in rows if row[0] == "合计 Total")
    assert total[-2:] == [2, 39.0]
    flagged = list(book["异常 Flagged"].iter_rows(values_only=True))
    assert len(flagged) == 2 and flagged[1][4] == "checkout_far"


@pytest.mark.parametrize("query", ["month=2026-13", "month=2026-1", "month=1999-12", "month=", "",
                                   "month=2026-11&format=pdf", "month=2026-11&community_id=0",
                                   "month=2026-11&bogus=1"])
def test_a_bad_month_or_format_is_422(client, world, query):
    r = client.get(f"/api/v1/center/subsidies?{query}", headers=world["h"]["staff_a"])
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["code"]


@pytest.mark.parametrize("query", ["from=2026-11-30&to=2026-11-01", "from=2025-01-01&to=2026-01-02",
                                   "from=2026-02-30", "to=tomorrow", "service_type=massage", "format=xlsx"])
def test_a_bad_period_is_422(client, world, query):
    r = client.get(f"/api/v1/center/stats?{query}", headers=world["h"]["staff_a"])
    assert r.status_code == 422, r.get_json()


def test_the_statistics_as_json_and_csv(client, world):
    h = world["h"]["staff_a"]
    r = client.get("/api/v1/center/stats?from=2026-11-01&to=2026-11-30", headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["from"], body["to"]) == ("2026-11-01", "2026-11-30")
    assert body["overall"]["requests"] == 3 and body["overall"]["fulfilment_rate"] == 1.0
    assert body["overall"]["accept_minutes"] == {"p50": 3.0, "p90": 3.0, "p95": 3.0}
    assert body["overall"]["arrival_minutes"]["p50"] == 17.0
    assert body["overall"]["sos"] == {"count": 0, "first_ack_seconds": {"p50": None, "p90": None}}
    assert [c["community_id"] for c in body["by_community"]] == [world["a"]]
    assert set(body["rural"]) == {"communities", "communities_covered", "seniors", "seniors_covered"}
    r = client.get("/api/v1/center/stats?from=2026-11-01&to=2026-11-30&format=csv", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="stats-2026-11-01-2026-11-30.csv"'
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    overall = next(row for row in rows if row and row[0] == "overall")
    assert overall[4:9] == ["3", "3", "0", "0", "1.0"]


def test_the_default_period_is_the_last_30_days(client, world):
    body = client.get("/api/v1/center/stats", headers=world["h"]["admin"]).get_json()
    start, end = (datetime.fromisoformat(body[k]).date() for k in ("from", "to"))
    assert (end - start).days == 29


@pytest.mark.parametrize("path", ["/api/v1/center/subsidies?month=2026-11", "/api/v1/center/stats"])
@pytest.mark.parametrize("role", ["senior", "family", "provider", "org_admin"])
def test_other_roles_are_refused(client, world, path, role):
    assert client.get(path, headers=world["h"][role]).status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/center/subsidies?month=2026-11&community_id={}",
                                  "/api/v1/center/stats?community_id={}"])
def test_another_communitys_staff_get_404_and_an_admin_sees_it(client, world, path):
    assert client.get(path.format(world["a"]), headers=world["h"]["staff_b"]).status_code == 404
    assert client.get(path.format(999999), headers=world["h"]["admin"]).status_code == 404
    assert client.get(path.format(world["a"]), headers=world["h"]["admin"]).status_code == 200


def test_other_staff_see_nothing_of_this_community_in_their_own_report(client, world):
    body = client.get("/api/v1/center/subsidies?month=2026-11", headers=world["h"]["staff_b"]).get_json()
    assert body["rows"] == [] and body["flagged"] == [] and body["totals"] == {"visits": 0, "amount": 0.0}


def test_signed_out_is_401(client, world):
    assert client.get("/api/v1/center/subsidies?month=2026-11").status_code == 401


def test_a_bad_rate_file_stops_start_up_saying_why(tmp_path):
    bad = tmp_path / "rates.json"
    bad.write_text(json.dumps({"base": {"meal": -5}}))
    env = {"LINLI_INSTANCE_PATH": str(tmp_path / "i"), "LINLI_SUBSIDY_RATES": str(bad)}
    with pytest.raises(SettingsError, match=r"LINLI_SUBSIDY_RATES=.*base\.meal"):
        Settings.from_env(env)
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="LINLI_SUBSIDY_RATES"):
        Settings.from_env(env)
    with pytest.raises(SettingsError, match="No such file"):
        Settings.from_env({**env, "LINLI_SUBSIDY_RATES": str(tmp_path / "missing.json")})
    bad.write_text(json.dumps({"base": {"meal": 18}, "illustrative": False}))
    rates = Settings.from_env(env).subsidy_rates
    assert rates.public()["base"]["meal"] == 18.0 and rates.illustrative is False


def test_the_reports_are_documented_with_their_query(client):
    spec = client.get("/api/openapi.json").get_json()
    stats = spec["paths"]["/api/v1/center/stats"]["get"]
    assert {"from", "to", "community_id", "service_type", "format"} <= {p["name"] for p in stats["parameters"]}
    subsidies = spec["paths"]["/api/v1/center/subsidies"]["get"]
    assert {"text/csv", "application/json"} <= set(subsidies["responses"]["200"]["content"])
