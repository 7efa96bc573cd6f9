"""The grid's post cards, each rendered once per version of its post and then reused.

Cards are most of what a campaign page renders (without this cache the page costs about 1.6
times the CPU: BENCHMARKS.md), and a card depends on nothing but its template, its post's fields,
the active time zone and the active language. So a card is cached under a digest of exactly those:
when anything about the post changes (a worker finishing it, an edit, a review) or the template's
source does, the key changes and the card is rendered afresh; nothing has to remember to invalidate
it. (The filters the template uses are Python: changing them means a restart, which empties the cache.)

The one thing in a card that belongs to the viewer is the CSRF token in its forms. Cards are
rendered and cached with a placeholder in its place, which the viewer's token replaces on the
way out.

The cache is the process's own memory (CACHES["cards"]): no network round trip. With DEBUG on it
is not used, so that a template being edited shows at once.
"""

import hashlib
import secrets
from collections.abc import Sequence
from typing import cast

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.backends.django import Template as DjangoTemplate
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from campaigns.models import Post

CARD_TEMPLATE = "campaigns/partials/post_card.html"
CACHE_ALIAS = "cards"

# Random per process, so that no caption or error text can contain it by chance or on purpose.
_CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


def render_cards(posts: Sequence[Post], request: HttpRequest, allowed: dict[str, bool]) -> SafeString:
    """The HTML of the posts' cards, in order, with the viewer's CSRF token in their forms and the
    buttons their role allows (`allowed`: workspaces.roles.allowed_actions, part of the cache key)."""
    if not posts:
        return SafeString("")
    cache = caches[CACHE_ALIAS]
    template = cast(DjangoTemplate, get_template(CARD_TEMPLATE))  # TEMPLATES has Django's engine only
    source_digest = hashlib.blake2b(template.template.source.encode(), digest_size=8).hexdigest()
    role_key = ",".join(sorted(action for action, ok in allowed.items() if ok))
    context_key = f"{source_digest}:{timezone.get_current_timezone_name()}:{translation.get_language()}:{role_key}"
    keys = [card_cache_key(post, context_key) for post in posts]
    use_cache = not settings.DEBUG
    cached = cache.get_many(keys) if use_cache else {}
    rendered = {}
    html = []
    for key, post in zip(keys, posts, strict=True):
        card = cached.get(key)
        if card is None:
            # No request: nothing of the viewer's can get into a card that others may be shown.
            card = template.render({"post": post, "allowed": allowed, "csrf_token": _CSRF_PLACEHOLDER})
            rendered[key] = card
        html.append(card)
    if rendered and use_cache:
        cache.set_many(rendered)
    return mark_safe("".join(html).replace(_CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 - escaped by the template


def card_cache_key(post: Post, context_key: str = "") -> str:
    """A digest of every field the post was loaded with, and of `context_key` (template, time zone, language)."""
    digest = hashlib.blake2b(context_key.encode(), digest_size=16)
    for field in post._meta.concrete_fields:
        if field.attname in post.__dict__:
            digest.update(f"\x1f{field.attname}={post.__dict__[field.attname]!r}".encode())
    return f"card:{post.pk}:{digest.hexdigest()}"
