"""``example_project.urls`` plus ``POST /bench/baseline``."""

from django.urls import include, path

from bench.baseline import baseline_attest

urlpatterns = [
    path("bench/baseline", baseline_attest, name="bench-baseline"),
    path("", include("example_project.urls")),
]
