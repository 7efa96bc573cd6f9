"""The sign-in backend: Django's ModelBackend, with the signed-in user read by one plain SELECT.

Every signed-in request loads its user by primary key (django.contrib.auth.get_user). Built
through the ORM, that lookup cost about 0.27 ms on our 2-core machine, a sixth of the batch
progress partial that every open batch page polls once a second; written out, 0.17 ms
(BENCHMARKS.md). The answer is the same: the whole row, fresh from the database, so
deactivating a user or changing their password still takes effect on their next request.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connection


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        user = next(iter(user_model._default_manager.raw(_user_by_pk_sql(), [user_id])), None)
        return user if user is not None and self.user_can_authenticate(user) else None


@cache
def _user_by_pk_sql() -> str:
    meta = get_user_model()._meta
    quote = connection.ops.quote_name
    # Only quoted names from the model go into the text; the id is a parameter.
    return f"SELECT * FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
