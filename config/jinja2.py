"""The Jinja2 template engine, for the few templates rendered often enough for its speed to matter.

Most of the project's templates are Django templates. The batch progress panel is Jinja2: every
open batch page asks for it once a second, and Jinja2 draws it in a third of the time
(BENCHMARKS.md). Its templates live in templates/jinja2/ and get, besides what Django's Jinja2
backend gives (request, csrf_input, csrf_token), the `url` function and the filters below.
https://docs.djangoproject.com/en/5.2/topics/templates/#django.template.backends.jinja2.Jinja2
"""

from django.template.defaultfilters import truncatechars
from django.urls import reverse
from jinja2 import Environment

from campaigns.templatetags.campaign_ui import duration, rate, usd


def url(name: str, *args) -> str:
    """{{ url("campaigns:batch_detail", batch.pk) }}, as {% url %} in a Django template."""
    return reverse(name, args=args)


def environment(*, autoescape: bool = True, **options) -> Environment:
    # Django's backend asks for autoescaping already; these are HTML templates, so it is never off.
    env = Environment(autoescape=True, **options)
    env.globals["url"] = url
    env.filters.update(duration=duration, rate=rate, usd=usd, truncatechars=truncatechars)
    return env
