"""Admin registrations. The full dashboard is its own issue; these keep the data visible."""

from django.contrib import admin

from trusted_auth.models import (
    ApiSecret,
    AuditEvent,
    ProfilePublicKey,
    Session,
    SigningKey,
    TrustedAuthTokenProfile,
    UserIdentity,
)


class ProfilePublicKeyInline(admin.TabularInline):
    model = ProfilePublicKey
    extra = 0
    max_num = 5


@admin.register(TrustedAuthTokenProfile)
class TrustedAuthTokenProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "profile_id", "issuer", "audience", "public_key_type")
    search_fields = ("name", "profile_id", "issuer")
    readonly_fields = ("profile_id", "created_at", "updated_at")
    inlines = [ProfilePublicKeyInline]


@admin.register(UserIdentity)
class UserIdentityAdmin(admin.ModelAdmin):
    list_display = ("user_id", "email", "external_issuer", "external_id", "created_at")
    search_fields = ("user_id", "email", "external_id")
    list_select_related = ("django_user",)
    raw_id_fields = ("django_user",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("session_id", "user", "profile", "started_at", "expires_at", "revoked_at")
    search_fields = ("session_id", "user__email")
    list_select_related = ("user", "profile")
    exclude = ("token_digest",)
    raw_id_fields = ("user",)


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "state", "key_size", "created_at")
    readonly_fields = ("kid", "algorithm", "key_size", "public_jwk", "created_at")
    exclude = ("private_key_encrypted",)


@admin.register(ApiSecret)
class ApiSecretAdmin(admin.ModelAdmin):
    list_display = ("secret_id", "last_four", "description", "created_at", "revoked_at")
    exclude = ("digest",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "outcome", "error_type", "profile", "token_id", "user_id")
    list_filter = ("outcome", "error_type")
    list_select_related = ("profile",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
