from django.contrib import admin
from django.urls import include, path

from example_project import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("example/whoami", views.whoami, name="whoami"),
    path("example/signin", views.signin, name="signin"),
    path("example/me", views.me, name="me"),
    path("example/noop", views.NoopView.as_view(), name="noop"),
    path("", include("trusted_auth.urls")),
]
