"""How the staff admin writes: through the services, one row at a time, reporting what they refuse.

apply_service runs a service over the rows an action chose; ServiceBackedAdmin is the model
admin every campaigns admin builds on, whose deletes (one object or many) go through a delete
service instead of Django's queryset delete.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import actions
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

# Actions call a service per row; past this many rows, narrow the list with a filter first.
MAX_ROWS_PER_ACTION = 500


def report_refusals(
    modeladmin: admin.ModelAdmin, request: HttpRequest, verb: str, refused: dict[str, list[Model]]
) -> None:
    """One warning per reason: "Could not cancel 2 batches (#4, #9): Batch #4 has already ended."."""
    for reason, objects in refused.items():
        names = ", ".join(f"#{obj.pk}" for obj in objects[:20]) + ("…" if len(objects) > 20 else "")
        plural = modeladmin.opts.verbose_name if len(objects) == 1 else modeladmin.opts.verbose_name_plural
        modeladmin.message_user(
            request, f"Could not {verb} {len(objects)} {plural} ({names}): {reason}", messages.WARNING
        )


def apply_service(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Model],
    service: Callable[..., object],
    keyword: str,
    *,
    verb: str,
    done: str,
    **arguments: Any,
) -> None:
    """Call service(<keyword>=obj, **arguments) for each object; report how many it did and,
    grouped by reason, what it refused."""
    succeeded = 0
    refused: dict[str, list[Model]] = defaultdict(list)
    for obj in objects:
        try:
            service(**{keyword: obj}, **arguments)
        except ValidationError as exc:
            refused[" ".join(exc.messages)].append(obj)
        else:
            succeeded += 1
    if succeeded:
        plural = modeladmin.opts.verbose_name if succeeded == 1 else modeladmin.opts.verbose_name_plural
        modeladmin.message_user(request, f"{done.capitalize()} {succeeded} {plural}.", messages.SUCCESS)
    report_refusals(modeladmin, request, verb, refused)


class ServiceBackedAdmin(admin.ModelAdmin):
    """A model admin whose deletes, one object or many, go through a delete service (delete_model).

    Django's own "delete selected" deletes the rows with one queryset delete, past the service's
    rules (running batches protected, image files removed). Here the delete page and the delete
    action both call delete_model per object; what its service refuses comes back as a message,
    and nothing of that object is written, not even its log entry.
    """

    max_per_action = MAX_ROWS_PER_ACTION

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError("each admin deletes through its service")

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as refusal:
            # Raised by delete_model's service: delete_view's transaction, log entry included, rolled back.
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:campaigns_{self.opts.model_name}_change", args=[object_id]))

    def selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[Model] | None:
        """The chosen rows, or None (with a message) when there are more than one action may take."""
        objects = list(queryset.order_by("pk")[: self.max_per_action + 1])
        if len(objects) > self.max_per_action:
            self.message_user(
                request,
                f"Select at most {self.max_per_action} {self.opts.verbose_name_plural} for one action; "
                "narrow the list with a filter.",
                messages.ERROR,
            )
            return None
        return objects

    @admin.action(description=gettext_lazy("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django's "Are you sure?" page first, then each object through delete_model."""
        objects = self.selected(request, queryset)
        if objects is None:
            return None
        if not request.POST.get("post"):
            return actions.delete_selected(self, request, queryset)
        _, _, perms_needed, protected = self.get_deleted_objects(objects, request)
        if perms_needed or protected:
            raise PermissionDenied

        def delete(*, obj: Model) -> None:
            with transaction.atomic():
                # Before the delete, which clears obj.pk. A list, as Django's own delete view passes
                # (django-stubs asks for a QuerySet).
                self.log_deletions(request, [obj])  # type: ignore[arg-type]
                self.delete_model(request, obj)

        apply_service(self, request, objects, delete, "obj", verb="delete", done="deleted")
        return None
