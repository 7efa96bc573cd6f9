from django.db import models
from django.db.models import Q


def choices_check(
    field: str, choices: type[models.TextChoices], *, prefix: str = "%(app_label)s_%(class)s"
) -> models.CheckConstraint:
    """A CHECK that `field` holds one of `choices`: the database refuses what the model would.

    `prefix` names it; a model that moved app keeps the name its table's constraint already has.
    """
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=f"{prefix}_{field}_valid")
