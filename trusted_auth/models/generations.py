from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Generation(models.Model):
    """A counter per kind of security-relevant state, bumped in the same transaction as any
    change to it (``internal/generations.py``)."""

    name = models.CharField(_("name"), max_length=32, primary_key=True)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("generation")
        verbose_name_plural = _("generations")

    def __str__(self) -> str:
        return f"{self.name} @ {self.value}"
