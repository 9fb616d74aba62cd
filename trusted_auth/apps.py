from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustedAuthConfig(AppConfig):
    name = "trusted_auth"
    verbose_name = _("Trusted auth")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trusted_auth import checks  # noqa: F401  (registers the system checks)
        from trusted_auth.audit import logs, metrics
        from trusted_auth.internal import generations

        generations.connect_signals()
        metrics.connect_signals()
        logs.connect()
