"""Request parsing for the server API. Business rules (bounds, reserved claims) live in services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import Field, SkipField


class RequestSerializer(serializers.Serializer):
    """A flat request body, checked field by field by ``validated(body)``.

    ``ServerAPIView.parse`` does not make one of these per request. DRF's ``Serializer`` deep-copies
    its declared fields on every instantiation, which runs every field's ``__init__`` again: about
    0.2 ms of a 3.7 ms authenticate, 0.4 ms of an attest (``bench/``). ``validated`` runs the same
    public field API that ``Serializer.to_internal_value`` runs (``get_value``,
    ``run_validation``, ``SkipField``) on fields bound once per class. A field keeps no state
    while it checks a value, so every request and thread shares them.

    That equivalence holds only for plain fields, so a subclass may not define ``validate`` or
    ``validate_<field>`` nor hold a nested serializer or a ``source``: ``__init_subclass__``
    refuses one that does. ``tests/test_request_serializers.py`` compares the two on every subclass.
    """

    _bound: tuple[tuple[str, Field], ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        base = serializers.Serializer
        hooks = sorted(
            name
            for name in dir(cls)
            if name.startswith("validate")
            and getattr(cls, name) is not getattr(base, name, None)
            and name not in ("validated", "validated_data")
        )
        nested = sorted(
            name
            for name, field in cls._declared_fields.items()
            if isinstance(field, serializers.BaseSerializer) or field.source not in (None, name)
        )
        if hooks or nested:
            raise TypeError(
                f"{cls.__name__}: a RequestSerializer holds plain fields only "
                f"(found {', '.join(hooks + nested)})"
            )
        cls._bound = None

    @classmethod
    def validated(cls, body: dict[str, Any]) -> dict[str, Any]:
        """The checked fields of ``body`` (absent optional fields left out), or
        ``serializers.ValidationError`` whose ``detail`` maps each bad field to its messages,
        in declaration order: what ``is_valid()``, ``validated_data`` and ``errors`` give."""
        bound = cls._bound
        if bound is None:
            bound = cls._bound = tuple(cls().fields.items())
        data: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field in bound:
            try:
                data[name] = field.run_validation(field.get_value(body))
            except SkipField:
                pass
            except serializers.ValidationError as error:
                errors[name] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return data


class AttestRequestSerializer(RequestSerializer):
    profile_id = serializers.CharField(max_length=128)
    token = serializers.CharField(trim_whitespace=False)
    session_duration_minutes = serializers.JSONField(required=False, allow_null=True)
    session_custom_claims = serializers.JSONField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    telemetry_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class B2BAttestRequestSerializer(AttestRequestSerializer):
    organization_id = serializers.CharField(required=False, allow_null=True, max_length=256)


class AuthenticateRequestSerializer(RequestSerializer):
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_duration_minutes = serializers.JSONField(required=False, allow_null=True)
    session_custom_claims = serializers.JSONField(required=False, allow_null=True)


class RevokeRequestSerializer(RequestSerializer):
    session_id = serializers.CharField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)


class B2BRevokeRequestSerializer(RequestSerializer):
    member_session_id = serializers.CharField(required=False, allow_null=True)
    session_token = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    session_jwt = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    member_id = serializers.CharField(required=False, allow_null=True)
