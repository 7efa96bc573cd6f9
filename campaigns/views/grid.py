"""The posts grid shared by the campaign page and the batch page: filters, keyset pages, cards."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone

from campaigns import selectors
from campaigns.forms import BulkActionForm, PostFilterForm
from campaigns.models import BatchJob, Campaign
from campaigns.paginators import keyset_page

# One screenful (three rows of four on a laptop); scrolling loads the next page. Cards are most
# of a page's rendering time, so a smaller first page is what keeps a busy server quick.
POSTS_PER_PAGE = 12


def post_grid_context(
    campaign: Campaign, query: QueryDict, *, batches: Sequence[BatchJob] = (), batch: BatchJob | None = None
) -> dict[str, Any]:
    """Filters from the query string, the page of posts after `?after=`, and the query string
    that keeps those filters on the next page, the refresh and the exports.

    `batch` pins the grid to one batch (the batch page); its posts are then the only ones shown.
    """
    data = query.copy()
    if batch is not None:
        data["batch"] = str(batch.pk)
    filter_form = PostFilterForm(data, batches=batches)
    today = timezone.localdate()
    filters = filter_form.filters()
    posts = selectors.campaign_posts(campaign, **filters)
    page = keyset_page(posts, after=query.get("after", ""), size=POSTS_PER_PAGE)
    query_filters = {name: filter_form.cleaned_data.get(name) for name in ("status", "review", "platform", "batch")}
    return {
        "filter_form": filter_form,
        "filters": filters,
        "is_filtered": bool(filters) and not (batch is not None and set(filters) == {"batch_id"}),
        "filter_query": urlencode({name: value for name, value in query_filters.items() if value}),
        # The filters again, for the bulk actions' form: "all matching the filter" means these.
        "filter_values": {name: value for name, value in query_filters.items() if value},
        "bulk_form": BulkActionForm(initial={"first_day": today, "last_day": today + timedelta(days=6)}),
        "page": page,
    }
