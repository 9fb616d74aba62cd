"""Public ids (``ttp-…``, ``user-…``, ``session-…``) in admin URLs, as the API and the CLI print
them; ``get_object`` accepts the integer primary key too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin
else:  # a plain mixin at run time; typed as the ModelAdmin it is mixed into
    _AdminBase = object


class PublicIdChangeList(ChangeList):
    def url_for_result(self, result: Model) -> str:
        model_admin: Any = self.model_admin
        public_id = getattr(result, model_admin.public_id_field, None)
        if not public_id:
            return super().url_for_result(result)
        return model_admin.public_id_change_url(public_id)


class PublicIdAdminMixin(_AdminBase):
    """Mixed into a ``ModelAdmin`` whose model has a unique public id field."""

    public_id_field: str = ""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        if from_field is None and object_id and not object_id.isdigit():
            try:
                return self.get_queryset(request).get(**{self.public_id_field: object_id})
            except (self.model.DoesNotExist, ValidationError, ValueError):
                return None
        return super().get_object(request, object_id, from_field)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PublicIdChangeList

    def public_id_change_url(self, public_id: str) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[quote(public_id)],
            current_app=self.admin_site.name,
        )
