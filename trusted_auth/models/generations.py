from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Generation(models.Model):
    """A counter per kind of security-relevant state (``profiles``, ``secrets``,
    ``signing_keys``), bumped in the same transaction as any change to that state.

    Workers keep process-local copies of that state for speed and compare the counter, read
    from the database once per request, with the one their copy was made at: a change made by
    any process (another worker, the CLI, the admin) takes effect on every worker's next
    request, whatever the cache backend. See ``trusted_auth.internal.generations``.
    """

    name = models.CharField(_("name"), max_length=32, primary_key=True)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("generation")
        verbose_name_plural = _("generations")

    def __str__(self) -> str:
        return f"{self.name} @ {self.value}"
