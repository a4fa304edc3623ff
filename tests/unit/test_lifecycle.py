import itertools

import pytest

from dispatch.lifecycle import (CANCELLABLE, OPEN_STATUSES, PLAN_TRANSITIONS, PROVIDER_PROGRESS,
                                PROVIDER_TRANSITIONS, SOS_TRANSITIONS, TERMINAL_STATUSES, TRANSITIONS,
                                VISIT_STATUSES, InvalidTransition, OfferStatus, RequestStatus, can_transition,
                                check_by, check_progress, check_transition)

S = RequestStatus

LEGAL = {
    (S.PENDING, S.OFFERING), (S.PENDING, S.ESCALATED), (S.PENDING, S.ASSIGNED), (S.PENDING, S.CANCELLED),
    (S.OFFERING, S.ASSIGNED), (S.OFFERING, S.ESCALATED), (S.OFFERING, S.CANCELLED),
    (S.ESCALATED, S.ASSIGNED), (S.ESCALATED, S.OFFERING), (S.ESCALATED, S.CANCELLED),
    (S.ASSIGNED, S.EN_ROUTE), (S.ASSIGNED, S.IN_SERVICE), (S.ASSIGNED, S.OFFERING),
    (S.ASSIGNED, S.CANCELLED),
    (S.EN_ROUTE, S.IN_SERVICE), (S.EN_ROUTE, S.OFFERING), (S.EN_ROUTE, S.CANCELLED),
    (S.IN_SERVICE, S.COMPLETED),
}
ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)


def test_statuses_are_the_api_values():
    assert [s.value for s in S] == ["pending", "offering", "assigned", "en_route", "in_service",
                                    "completed", "cancelled", "escalated"]
    assert {s.value for s in OfferStatus} == {"offered", "accepted", "declined", "expired", "withdrawn"}


def test_table_is_exactly_the_intended_one():
    assert {(a, b) for a, nxt in TRANSITIONS.items() for b in nxt} == LEGAL
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_every_legal_transition_passes(current, target):
    check_transition(current, target)
    assert can_transition(current.value, target.value)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_other_transition_raises_with_both_ends(current, target):
    with pytest.raises(InvalidTransition) as err:
        check_transition(current, target)
    assert (err.value.current, err.value.target) == (current, target)


def test_a_next_wave_is_not_a_transition():
    with pytest.raises(InvalidTransition):
        check_transition(S.OFFERING, S.OFFERING)


def test_terminal_states_have_no_exits():
    assert TERMINAL_STATUSES == {S.COMPLETED, S.CANCELLED}
    for terminal in TERMINAL_STATUSES:
        assert not TRANSITIONS[terminal]
        for target in S:
            with pytest.raises(InvalidTransition):
                check_transition(terminal, target)


def test_status_groups():
    assert OPEN_STATUSES == set(S) - {S.COMPLETED, S.CANCELLED}
    assert VISIT_STATUSES == {S.ASSIGNED, S.EN_ROUTE, S.IN_SERVICE}
    assert PROVIDER_PROGRESS == {S.EN_ROUTE, S.IN_SERVICE, S.COMPLETED}
    assert CANCELLABLE == {S.PENDING, S.OFFERING, S.ESCALATED, S.ASSIGNED, S.EN_ROUTE}
    assert S.IN_SERVICE not in CANCELLABLE


def test_table_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        TRANSITIONS[S.COMPLETED] = frozenset({S.PENDING})


@pytest.mark.parametrize(("current", "target"), [
    (S.ASSIGNED, S.EN_ROUTE), (S.ASSIGNED, S.IN_SERVICE), (S.EN_ROUTE, S.IN_SERVICE),
    (S.IN_SERVICE, S.COMPLETED)])
def test_provider_progress_forward(current, target):
    check_progress(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (S.ASSIGNED, S.CANCELLED),  # legal for the service, not through progress
    (S.EN_ROUTE, S.OFFERING),
    (S.ASSIGNED, S.COMPLETED),  # cannot skip the visit itself
    (S.OFFERING, S.EN_ROUTE),
    (S.COMPLETED, S.COMPLETED)])
def test_provider_progress_refuses_the_rest(current, target):
    with pytest.raises(InvalidTransition):
        check_progress(current, target)


@pytest.mark.parametrize("table, current, target, allowed", [
    (PROVIDER_TRANSITIONS, "pending", "verified", True), (PROVIDER_TRANSITIONS, "verified", "pending", False),
    (PROVIDER_TRANSITIONS, "blacklisted", "verified", True), (PROVIDER_TRANSITIONS, "blacklisted", "suspended", False),
    (SOS_TRANSITIONS, "open", "acknowledged", True), (SOS_TRANSITIONS, "resolved", "open", False),
    (SOS_TRANSITIONS, "acknowledged", "acknowledged", False),
    (PLAN_TRANSITIONS, "paused", "active", True), (PLAN_TRANSITIONS, "ended", "active", False)])
def test_each_status_kind_changes_only_by_its_table(table, current, target, allowed):
    if allowed:
        check_by(table, current, target)
    else:
        with pytest.raises(InvalidTransition) as err:
            check_by(table, current, target)
        assert (str(err.value.current), str(err.value.target)) == (current, target)
        assert type(err.value.current) is type(next(iter(table)))
