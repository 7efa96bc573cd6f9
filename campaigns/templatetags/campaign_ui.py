"""Formatting for the marketer's pages: durations, money, platform rules."""

from collections.abc import Sequence
from decimal import Decimal

from django import template
from django.template.context import Context

from campaigns.cards import render_cards
from campaigns.models import BatchStatus, Post
from generation.dispatch import BatchPhase, ProviderBatchStatus
from shared.platforms import RULES, Platform, full_length

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """62.4 -> '1 min 2 s'; 4000 -> '1 h 6 min'; None -> '–'."""
    if seconds is None:
        return "–"
    seconds = max(round(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@register.filter
def provider_state(progress: dict | None) -> str:
    """An economy batch's provider batch in words (BatchJob.provider_progress), e.g.
    'Captions at the provider: in progress, 40 of 100 done, 2 failed'."""
    if not progress:
        return "Waiting to be sent to the provider."
    phase = progress.get("phase", "")
    status = progress.get("status", "")
    phase_label = BatchPhase(phase).label if phase in BatchPhase.values else phase
    status_label = ProviderBatchStatus(status).label if status in ProviderBatchStatus.values else status
    line = f"{phase_label} at the provider: {status_label.lower()}"
    total = progress.get("total") or 0
    if total:
        line += f", {progress.get('completed', 0) + progress.get('failed', 0)} of {total} done"
    if progress.get("failed"):
        line += f", {progress['failed']} failed"
    if progress.get("round"):
        line += f" (follow-up {progress['round']} for lines that expired)"
    return line + "."


@register.filter
def usd(amount: Decimal | float | None) -> str:
    """Dollars with cents, or with four decimals when a cent would hide a real cost."""
    if amount is None:
        return "–"
    amount = Decimal(amount)
    if amount and amount < Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


@register.filter
def rate(posts_per_minute: float | None) -> str:
    if not posts_per_minute:
        return "–"
    return f"{posts_per_minute:.1f}" if posts_per_minute < 10 else f"{posts_per_minute:.0f}"


@register.filter
def caption_limit(platform: str) -> int:
    """The platform's limit for caption plus hashtags (shared.platforms is the one table)."""
    rules = RULES.get(platform)
    return rules.caption_limit if rules else 0


@register.filter
def max_hashtags(platform: str) -> int:
    rules = RULES.get(platform)
    return rules.max_hashtags if rules else 0


@register.filter
def platform_label(platform: str) -> str:
    try:
        return Platform(platform).label
    except ValueError:
        return platform


@register.filter
def batch_status_label(status: str) -> str:
    try:
        return BatchStatus(status).label
    except ValueError:
        return status


@register.filter
def post_length(post: Post) -> int:
    """Characters of the post as published (caption and hashtags), what the platform limit counts."""
    return full_length(post.caption, list(post.hashtags or []))


@register.simple_tag(takes_context=True)
def post_cards(context: Context, posts: Sequence[Post]) -> str:
    """The grid's cards for `posts` (see campaigns.cards: rendered once per version of each post), with
    the buttons of the `allowed` actions in the context (none without it)."""
    return render_cards(posts, context["request"], context.get("allowed") or {})
