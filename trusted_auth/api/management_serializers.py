"""Request parsing for the users, organizations and members endpoints.

Every field is accepted as JSON and checked by the service (one set of rules for the API and the
CLI); Stytch fields we do not implement are ignored, so SDK calls that pass them keep working.
"""

from rest_framework import serializers


def _optional() -> serializers.JSONField:
    return serializers.JSONField(required=False, allow_null=True)


class UserCreateSerializer(serializers.Serializer):
    email = serializers.JSONField()
    name = _optional()
    external_id = _optional()
    trusted_metadata = _optional()


class UserUpdateSerializer(serializers.Serializer):
    name = _optional()
    external_id = _optional()
    trusted_metadata = _optional()


class SearchSerializer(serializers.Serializer):
    cursor = _optional()
    limit = _optional()
    query = _optional()


class MemberSearchSerializer(SearchSerializer):
    organization_ids = serializers.JSONField()


class OrganizationSerializer(serializers.Serializer):
    organization_name = _optional()
    organization_slug = _optional()
    organization_external_id = _optional()
    email_allowed_domains = _optional()
    trusted_metadata = _optional()
    rbac_email_implicit_role_assignments = _optional()


class MemberSerializer(serializers.Serializer):
    email_address = _optional()
    name = _optional()
    external_id = _optional()
    roles = _optional()
    trusted_metadata = _optional()
