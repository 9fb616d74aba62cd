"""Request parsing for the server API. Business rules (bounds, reserved claims) live in services."""

from __future__ import annotations

from rest_framework import serializers


class AttestRequestSerializer(serializers.Serializer):
    profile_id = serializers.CharField(max_length=128)
    token = serializers.CharField(trim_whitespace=False)
    session_duration_minutes = serializers.JSONField(required=False, allow_null=True)
    session_custom_claims = serializers.JSONField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    telemetry_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class B2BAttestRequestSerializer(AttestRequestSerializer):
    organization_id = serializers.CharField(required=False, allow_null=True, max_length=256)


class AuthenticateRequestSerializer(serializers.Serializer):
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_duration_minutes = serializers.JSONField(required=False, allow_null=True)
    session_custom_claims = serializers.JSONField(required=False, allow_null=True)


class RevokeRequestSerializer(serializers.Serializer):
    session_id = serializers.CharField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)


class B2BRevokeRequestSerializer(serializers.Serializer):
    member_session_id = serializers.CharField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    member_id = serializers.CharField(required=False, allow_null=True)
