"""The admin's Overview page: ``audit.overview.build_overview``'s numbers as inline SVG charts
(coordinates here, drawn by the template; no JavaScript, no CDN)."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.audit.overview import Overview as OverviewData
from trusted_auth.audit.overview import build_overview
from trusted_auth.models import Overview

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 30
PLOT_W, PLOT_H, BASELINE = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM, HEIGHT - BOTTOM


def _nice_max(value: int) -> int:
    """Four gridline steps of 1/2/5 × 10^n that reach ``value``: the top of the y axis."""
    needed = max(value, 4) / 4
    magnitude = 10 ** math.floor(math.log10(needed))
    return next(int(4 * step * magnitude) for step in (1, 2, 5, 10) if step * magnitude >= needed)


def _ticks(top: int) -> list[dict[str, Any]]:
    return [
        {"y": round(BASELINE - PLOT_H * i / 4, 1), "label": f"{top * i // 4:,}"} for i in range(5)
    ]


def _attests_chart(data: OverviewData) -> dict[str, Any]:
    top = _nice_max(max((h.success + h.failure for h in data.hours), default=0))
    slot = PLOT_W / len(data.hours)
    bars = []
    for i, hour in enumerate(data.hours):
        x = LEFT + i * slot + slot * 0.15
        success_h = PLOT_H * hour.success / top
        failure_h = PLOT_H * hour.failure / top
        bars.append(
            {
                "x": round(x, 1),
                "width": round(slot * 0.7, 1),
                "success_y": round(BASELINE - success_h, 1),
                "success_h": round(success_h, 1),
                "failure_y": round(BASELINE - success_h - failure_h, 1),
                "failure_h": round(failure_h, 1),
                "label": hour.start.strftime("%H:00") if i % 3 == 0 else "",
                "label_x": round(LEFT + i * slot + slot / 2, 1),
                "title": f"{hour.start:%Y-%m-%d %H:00} UTC: {hour.success} succeeded, "
                f"{hour.failure} failed",
            }
        )
    return {"bars": bars, "ticks": _ticks(top), "baseline": BASELINE}


def _live_chart(data: OverviewData) -> dict[str, Any]:
    top = _nice_max(max((p.count for p in data.live_sessions), default=0))
    n = len(data.live_sessions)
    points = []
    for i, point in enumerate(data.live_sessions):
        x = LEFT + PLOT_W * i / max(n - 1, 1)
        y = BASELINE - PLOT_H * point.count / top
        points.append(
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "title": f"{point.at:%Y-%m-%d %H:%M} UTC: {point.count} live",
                "anchor": "end" if i == n - 1 else "middle",
                "label": point.at.strftime("%H:%M") if i % 3 == 2 or i == n - 1 else "",
            }
        )
    line = " ".join(f"{p['x']},{p['y']}" for p in points)
    area = f"{LEFT},{BASELINE} {line} {points[-1]['x']},{BASELINE}" if points else ""
    return {
        "points": points,
        "line": line,
        "area": area,
        "ticks": _ticks(top),
        "baseline": BASELINE,
    }


def _failures_chart(data: OverviewData) -> dict[str, Any]:
    top = max((f.count for f in data.failures), default=1)
    rows = [
        {"y": 8 + i * 30, "width": round(max(2.0, 330 * f.count / top), 1), "failure": f}
        for i, f in enumerate(data.failures)
    ]
    return {"rows": rows, "height": 16 + 30 * len(rows)}


@admin.register(Overview)
class OverviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Anyone who may view audit events may see it."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("trusted_auth.view_overview") or request.user.has_perm(
            "trusted_auth.view_auditevent"
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name=f"{opts.app_label}_{opts.model_name}_changelist",
            ),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = build_overview()
        site = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Overview: the last 24 hours"),
            "data": data,
            "attests_chart": _attests_chart(data),
            "live_chart": _live_chart(data),
            "failures_chart": _failures_chart(data),
            "width": WIDTH,
            "height": HEIGHT,
            "left": LEFT,
            "right_edge": WIDTH - RIGHT,
            "audit_url": reverse(f"{site}:trusted_auth_auditevent_changelist"),
            "sessions_url": reverse(f"{site}:trusted_auth_session_changelist"),
            "keys_url": reverse(f"{site}:trusted_auth_signingkey_changelist"),
            "profiles_url": reverse(f"{site}:trusted_auth_trustedauthtokenprofile_changelist"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/trusted_auth/overview.html", context)
