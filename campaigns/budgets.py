"""A workspace's monthly budget: what is left of it, and the refusal of a batch that would overrun it.

A month's spend is the cost of the batches created since the first of the month (in TIME_ZONE),
regenerations included (they count toward their batch). What the workspace's running batches
are expected to spend yet counts as spent, so batches started one after the other cannot each
see the whole of what is left.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from campaigns import selectors
from campaigns.models import BatchJob
from workspaces import selectors as workspace_selectors
from workspaces.models import Workspace


class BudgetExceeded(ValidationError):
    """A batch would take its workspace over this month's budget: the message gives the numbers."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="over_budget")


@dataclass(frozen=True)
class MonthlyBudget:
    budget: Decimal
    spent: Decimal  # by this month's batches so far
    running: Decimal  # what the running batches are expected to spend yet

    @property
    def left(self) -> Decimal:
        return self.budget - self.spent - self.running


def monthly_budget(workspace: Workspace, *, post_cost: Decimal) -> MonthlyBudget | None:
    """The workspace's budget this month, or None when it has none. `post_cost`: one post's estimate."""
    if workspace.monthly_budget_usd is None:
        return None
    running = sum(
        (_still_to_spend(batch, post_cost) for batch in selectors.workspace_running_batches(workspace)),
        Decimal("0"),
    )
    return MonthlyBudget(
        budget=workspace.monthly_budget_usd,
        spent=workspace_selectors.workspace_spend_this_month(workspace),
        running=running,
    )


def _still_to_spend(batch: BatchJob, post_cost: Decimal) -> Decimal:
    expected = post_cost * max(batch.requested_count - batch.done_count, 0)
    if batch.cost_cap_usd is not None:
        expected = min(expected, max(batch.cost_cap_usd - batch.cost_usd, Decimal("0")))
    return expected


def check_budget(*, workspace: Workspace, estimate: Decimal, post_cost: Decimal) -> MonthlyBudget | None:
    """Refuse a batch expected to cost `estimate` that would take `workspace` over this month's budget.

    Call it inside the transaction that creates the batch: it locks the workspace's row until that
    transaction ends, so two batches started at once are weighed one after the other.
    """
    locked = Workspace.objects.select_for_update().only("pk", "monthly_budget_usd").get(pk=workspace.pk)
    budget = monthly_budget(locked, post_cost=post_cost)
    if budget is None or estimate <= budget.left:
        return budget
    running = f" and about ${budget.running:,.2f} on its way in running batches" if budget.running else ""
    raise BudgetExceeded(
        f"This batch would cost about ${estimate:,.2f}: more than is left of the workspace's "
        f"${budget.budget:,.2f} budget this month (${budget.spent:,.2f} spent{running}, "
        f"${max(budget.left, Decimal('0')):,.2f} left). Ask for fewer posts, or ask an owner to raise the budget."
    )
