"""What a bulk action's filter becomes: the caller's conditions, limited to
the statuses the action can change; and the bounds of its limit."""

from __future__ import annotations

import pytest

from taskloom.definitions import InvalidInput, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.server.service.bulk_actions import ABORTABLE, RETRYABLE, check_limit, narrowed


def test_no_statuses_given_means_every_status_the_action_changes() -> None:
    where = narrowed(RunFilter(definition_id="d"), ABORTABLE)
    assert where == RunFilter(definition_id="d", statuses=ABORTABLE)
    assert narrowed(None, RETRYABLE) == RunFilter(statuses=RETRYABLE)


def test_given_statuses_are_intersected_with_the_actions() -> None:
    asked = RunFilter(statuses=(TaskStatus.FAILED, TaskStatus.PENDING), has_errors=True)
    assert narrowed(asked, RETRYABLE) == RunFilter(statuses=(TaskStatus.FAILED,), has_errors=True)
    assert narrowed(asked, ABORTABLE) == RunFilter(statuses=(TaskStatus.PENDING,), has_errors=True)


def test_statuses_the_action_cannot_change_match_nothing() -> None:
    assert narrowed(RunFilter(statuses=(TaskStatus.SUCCEEDED,)), ABORTABLE) is None
    assert narrowed(RunFilter(statuses=()), RETRYABLE) is None


@pytest.mark.parametrize("limit", [1, 10_000])
def test_limits_within_bounds_pass(limit: int) -> None:
    check_limit(limit)


@pytest.mark.parametrize("limit", [0, -5, 10_001])
def test_limits_out_of_bounds_are_field_errors(limit: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_limit(limit)
    assert refused.value.errors[0]["loc"] == ["limit"]
