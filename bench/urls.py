"""``example_project.urls`` plus ``POST /bench/baseline`` and ``POST /bench/lower-bound``."""

from django.urls import include, path

from bench.baseline import baseline_attest, lower_bound_attest

urlpatterns = [
    path("bench/baseline", baseline_attest, name="bench-baseline"),
    path("bench/lower-bound", lower_bound_attest, name="bench-lower-bound"),
    path("", include("example_project.urls")),
]
