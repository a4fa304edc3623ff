"""Subsidy statements by month: the payable visits by organization, provider, service type and care
level, and the flagged ones apart (the rule is dispatch/subsidies.py's; see docs/subsidies.md)."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from dispatch import subsidies
from dispatch.catalog import ServiceType
from dispatch.lifecycle import RequestStatus
from models.accounts import User
from models.providers import Organization, Provider
from models.reports import SubsidyStatement
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import local_zone
from server.steps.reporting import report_scope, within

_REASONS_ZH = {
    subsidies.Reason.NO_CHECKIN: "无签到", subsidies.Reason.NO_CHECKOUT: "无签退",
    subsidies.Reason.CHECKIN_FAR: "签到点距老人住址超过 300 米", subsidies.Reason.CHECKOUT_FAR: "签退点距老人住址超过 300 米",
    subsidies.Reason.NO_PROVIDER: "无服务人员",
}
_LEVELS_ZH = {"severe": "重度失能", "moderate": "中度失能", "mild": "轻度失能", "independent": "能自理",
              "unassessed": "未评估"}


def subsidy_statement(*, session: Session, user: User, month: str, community_id: int | None,
                      rates: subsidies.RateTable) -> SubsidyStatement:
    """The month's statement for the caller's communities (one when community_id is given)."""
    scope = report_scope(session, user, community_id)
    year, number = (int(part) for part in month.split("-"))
    lo, hi = subsidies.month_bounds(year, number, local_zone())
    query = (select(ServiceRequest.id, ServiceRequest.service_type, ServiceRequest.provider_id,
                    ServiceRequest.checkin_at.is_not(None), ServiceRequest.checkin_lat, ServiceRequest.checkin_lon,
                    ServiceRequest.checkout_at.is_not(None), ServiceRequest.checkout_lat, ServiceRequest.checkout_lon,
                    Senior.lat, Senior.lon, Senior.care_level, Provider.name, Provider.organization_id,
                    Organization.name)
             .join(Senior, Senior.id == ServiceRequest.senior_id)
             .outerjoin(Provider, Provider.id == ServiceRequest.provider_id)
             .outerjoin(Organization, Organization.id == Provider.organization_id)
             .where(ServiceRequest.status == RequestStatus.COMPLETED, ServiceRequest.completed_at >= lo,
                    ServiceRequest.completed_at < hi, within(ServiceRequest.community_id, scope)))
    visits = [subsidies.Visit(
        request_id=r[0], service_type=str(r[1]), provider_id=r[2], checked_in=bool(r[3]), checkin_lat=r[4],
        checkin_lon=r[5], checked_out=bool(r[6]), checkout_lat=r[7], checkout_lon=r[8], home_lat=r[9],
        home_lon=r[10], care_level=None if r[11] is None else str(r[11]), provider=r[12], organization_id=r[13],
        organization=r[14]) for r in session.connection().execute(query)]
    built = subsidies.statement(visits, rates)
    return SubsidyStatement(month=month, community_id=community_id, rates=rates.public(), **built)


def statement_tables(statement: SubsidyStatement) -> dict[str, list[list]]:
    """The statement as two tables (汇总 Statement, 异常 Flagged) for CSV and XLSX."""
    rates = "示例费率，非官方标准 / illustrative rates" if statement.rates.illustrative else "配置费率 / configured rates"
    head = [["月份 Month", statement.month, "币种 Currency", statement.rates.currency, rates], []]
    rows = [["机构ID Organization ID", "机构 Organization", "服务人员ID Provider ID", "服务人员 Provider",
             "服务类型 Service type", "服务 Service", "护理等级 Care level", "等级 Level", "次数 Visits",
             "金额 Amount (CNY)"]]
    for row in statement.rows:
        rows.append([row.organization_id, row.organization, row.provider_id, row.provider, row.service_type.value,
                     ServiceType(row.service_type).name_zh, row.care_level, _LEVELS_ZH.get(row.care_level),
                     row.visits, row.amount])
    rows.append(["合计 Total", None, None, None, None, None, None, None, statement.totals.visits,
                 statement.totals.amount])
    flagged = [["服务单ID Request ID", "服务人员ID Provider ID", "服务人员 Provider", "服务类型 Service type",
                "原因 Reason", "说明 Note"]]
    for flag in statement.flagged:
        flagged.append([flag.request_id, flag.provider_id, flag.provider, flag.service_type.value, flag.reason,
                        _REASONS_ZH.get(flag.reason)])
    return {"汇总 Statement": head + rows, "异常 Flagged": flagged}
