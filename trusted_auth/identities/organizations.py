"""B2B organizations and members: create, list, and resolve them for an attest."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.text import slugify

from trusted_auth import ids, signals
from trusted_auth.audit.changes import record_change
from trusted_auth.audit.events import RequestContext
from trusted_auth.errors import (
    BadRequest,
    DuplicateMember,
    DuplicateOrganization,
    MemberNotFound,
    OrganizationNotFound,
    TrustedAuthError,
)
from trusted_auth.identities import search
from trusted_auth.identities.emails import (
    email_fragment,
    email_in,
    email_list_filter,
    normalise_email,
    validate_email_address,
)
from trusted_auth.identities.users import validate_external_id, validate_metadata
from trusted_auth.issuers.verification import claims_rejected
from trusted_auth.models import Member, Organization, Session, TrustedAuthTokenProfile
from trusted_auth.models.identities import ACTIVE, DELETED
from trusted_auth.rbac.policy import defined_role_ids
from trusted_auth.timeutil import rfc3339

ORGANIZATION_ID_PREFIX = f"{ids.ORGANIZATION}-"
MEMBER_ID_PREFIX = f"{ids.MEMBER}-"
NAME_LENGTH, SLUG_LENGTH = 200, 128  # Organization.name and .slug max_length


def normalise_domains(domains: list[str] | None) -> list[str]:
    """Email domains as ``email_allowed_domains`` stores them: lower case, no ``@``, sorted."""
    return sorted({d.strip().lower().lstrip("@") for d in domains or [] if d.strip()})


def _domains(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise BadRequest("email_allowed_domains must be a list of domains")
    return normalise_domains(value)


def _invalid(error: ValidationError) -> BadRequest:
    return BadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))


def create_organization(
    *,
    name: Any = None,
    slug: Any = "",
    external_id: Any = "",
    email_allowed_domains: Any = None,
    trusted_metadata: Any = None,
    rbac_email_implicit_role_assignments: Any = None,
    context: RequestContext | None = None,
) -> Organization:
    """Create an organization; the slug defaults to the slugified name. Audited."""
    name = _text(name, "organization_name")
    if not name.strip():
        raise BadRequest("organization_name is required")
    slug = _text(slug, "organization_slug")
    domains = _domains(email_allowed_domains) if email_allowed_domains is not None else []
    organization = Organization(
        name=name,
        slug=slug or slugify(name),
        external_id=validate_external_id(external_id, "organization_external_id"),
        email_allowed_domains=domains,
        trusted_metadata=validate_metadata(trusted_metadata),
        rbac_email_implicit_role_assignments=_implicit_roles(
            rbac_email_implicit_role_assignments or [], None
        ),
    )
    _save_organization(organization, context=context, action="organization_create")
    return organization


def find_organization(reference: str) -> Organization | None:
    """The organization ``reference`` names: an ``organization-…`` reference is an id and only an
    id; anything else a slug or an external id (``check_references`` keeps the two apart). Two
    organizations answering to one reference (rows written by hand) is a 400, never a guess."""
    if reference.startswith(ORGANIZATION_ID_PREFIX):
        return Organization.objects.filter(organization_id=reference).first()
    matches = list(
        Organization.objects.filter(Q(slug=reference) | Q(external_id=reference)).order_by("pk")[:2]
    )
    if len(matches) > 1:
        raise BadRequest(
            f"organization_id {reference[:80]!r} is the slug of one organization and the "
            "external id of another: name the organization by its organization_id"
        )
    return matches[0] if matches else None


def get_organization(reference: Any) -> Organization:
    if not isinstance(reference, str) or not reference:
        raise BadRequest("organization_id is required")
    if "\x00" in reference:
        raise BadRequest("organization_id must not contain NUL")
    organization = find_organization(reference)
    if organization is None:
        raise OrganizationNotFound(f"no organization {reference[:80]!r}")
    return organization


def check_references(organization: Organization) -> None:
    """400 for a slug or external id another reference kind could mean: one starting with
    ``organization-``, or another organization's value in the other namespace. Run it under
    ``lock_references``; same-namespace duplicates are the unique constraints' (409)."""
    # Each field with the column of the other namespace its value must not be in.
    fields = (
        ("organization_slug", organization.slug, "external_id"),
        ("organization_external_id", organization.external_id, "slug"),
    )
    for field, value, _ in fields:
        if value.lower().startswith(ORGANIZATION_ID_PREFIX):
            raise BadRequest(
                f"{field}: {value[:80]!r} starts with {ORGANIZATION_ID_PREFIX!r}, which only "
                "organization ids do"
            )
    others = Organization.objects.exclude(pk=organization.pk)
    for field, value, other in fields:
        if value and others.filter(**{other: value}).exists():
            raise BadRequest(
                f"{field}: {value[:80]!r} is another organization's {other.replace('_', ' ')}, "
                "and one reference must name one organization"
            )


def lock_references(organization: Organization) -> None:
    """Serialise writers of the same slug or external id until the transaction ends, so two
    concurrent writes cannot both pass ``check_references`` (no unique constraint spans two
    columns). PostgreSQL: an advisory transaction lock per value. SQLite needs none: it runs one
    writer at a time (a stale writer gets ``database is locked``, a 503). Call inside
    ``transaction.atomic()``."""
    if connection.vendor != "postgresql":
        return
    values = {organization.slug, organization.external_id} - {""}
    keys = sorted(_advisory_key(value) for value in values)  # one order: no deadlock
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _advisory_key(value: str) -> int:
    digest = hashlib.sha256(f"trusted_auth.organization_reference:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def create_member(
    *,
    organization: Organization,
    email: Any,
    name: Any = "",
    external_id: Any = "",
    roles: Any = None,
    trusted_metadata: Any = None,
    context: RequestContext | None = None,
) -> Member:
    """Add a member to ``organization`` (a pre-provisioned member: no session, no link yet).
    Audited; sends ``member_provisioned``."""
    roles = _role_list(roles, organization)
    member = Member(
        organization=organization,
        email=validate_email_address(email, "email_address"),
        name=_text(name, "name"),
        external_id=validate_external_id(external_id, id_prefix=MEMBER_ID_PREFIX),
        roles=roles,
        trusted_metadata=validate_metadata(trusted_metadata),
    )
    _save_member(
        member,
        "member_create",
        f"{email} (or this external_id) is already a member of {organization.slug}",
        context=context,
    )
    signals.member_provisioned.send(sender=Member, member=member, profile=None)
    return member


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise BadRequest(f"{field} must be a string")
    return value


def _role_list(roles: Any, organization: Organization | None = None) -> list[str]:
    """Roles given to the management API: a list of role ids the RBAC policy defines."""
    if roles is None:
        return []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadRequest("roles must be a list of role ids")
    known = defined_role_ids(organization.organization_id if organization else None)
    unknown = sorted(set(roles) - known)
    if unknown:
        raise BadRequest(
            f"unknown roles: {', '.join(unknown)[:200]} "
            f"(this project defines: {', '.join(sorted(known))[:300]})"
        )
    return roles


def validate_roles(role_ids: list[str], organization: Organization | None = None) -> list[str]:
    """Roles must be ones the RBAC policy (the project's, or ``organization``'s) defines, or
    ``TRUSTED_AUTH["ROLES"]`` (deprecated); never silently dropped."""
    known = defined_role_ids(organization.organization_id if organization else None)
    unknown = [role for role in role_ids if role not in known]
    if unknown:
        raise claims_rejected(
            f"unknown role_ids: {', '.join(sorted(unknown))[:200]} "
            f"(this project defines: {', '.join(sorted(known))[:300]})"
        )
    return role_ids


def resolve_organization(
    profile: TrustedAuthTokenProfile, requested: Any, claimed: str | None
) -> Organization:
    """The one organization an attest is for, from the request and/or the token's claim. Both
    must name the same one (a token for org A never opens a session in org B); a claim naming
    none creates it when the profile allows JIT organizations and the request named none."""
    if requested is None and claimed is None:
        raise BadRequest("organization_id is required: pass it or map it from a token claim")
    from_request = get_organization(requested) if requested is not None else None
    from_claim = find_organization(claimed) if claimed is not None else None
    if from_request is not None and claimed is not None:
        if from_claim is None or from_claim.pk != from_request.pk:
            raise TrustedAuthError(
                "the token's organization does not match the requested organization_id",
                error_type="organization_mismatch",
            )
        return from_request
    found = from_request or from_claim
    if found is not None:
        return found
    assert claimed is not None  # neither given was refused first
    # An id is never created: a claim naming an unknown id names no organization.
    if not profile.can_jit_create_organizations or claimed.startswith(ORGANIZATION_ID_PREFIX):
        raise OrganizationNotFound(f"no organization {claimed[:80]!r}")
    organization = Organization(  # the claim may be longer than a name or slug holds
        name=claimed[:NAME_LENGTH],
        slug=slugify(claimed)[:SLUG_LENGTH] or "organization",
        external_id=claimed,
    )
    try:
        with transaction.atomic():
            lock_references(organization)
            # A concurrent attest of the same claim may have created it while we waited.
            created = find_organization(claimed)
            if created is not None:
                return created
            check_references(organization)
            organization.save()
            return organization
    except IntegrityError:
        created = find_organization(claimed)  # by a concurrent attest of the same claim
        if created is None:
            raise BadRequest(f"cannot create an organization for {claimed[:80]!r}") from None
        return created


def organization_as_dict(organization: Organization) -> dict[str, Any]:
    return {
        "organization_id": organization.organization_id,
        "name": organization.name,
        "slug": organization.slug,
        "external_id": organization.external_id,
        "email_allowed_domains": organization.email_allowed_domains,
        "created_at": rfc3339(organization.created_at),
    }


def member_as_dict(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "organization_id": member.organization.organization_id,
        "email": member.email,
        "name": member.name,
        "external_id": member.external_id,
        "roles": member.roles,
        "status": member.status,
        "created_at": rfc3339(member.created_at),
    }


def list_members(organization: Organization) -> list[Member]:
    return list(Member.objects.select_related("organization").filter(organization=organization))


# --- management through the API and CLI: update, delete, search, reactivate ------------------


def _save_organization(organization: Organization, *, context, action: str) -> None:
    try:
        organization.full_clean()
        with transaction.atomic():
            lock_references(organization)
            check_references(organization)
            organization.save()
            record_change(action, organization_id=organization.organization_id, context=context)
    except ValidationError as e:
        taken = [
            field
            for field, errors in e.error_dict.items()
            if field in ("slug", "external_id", "__all__")
            and any(error.code == "unique" for error in errors)
        ]
        if taken:
            raise DuplicateOrganization(
                "another organization has this organization_slug or organization_external_id"
            ) from e
        raise _invalid(e) from e
    except IntegrityError as e:
        raise DuplicateOrganization(
            "another organization has this organization_slug or organization_external_id"
        ) from e


def update_organization(
    reference: Any,
    *,
    name: Any = None,
    slug: Any = None,
    external_id: Any = None,
    email_allowed_domains: Any = None,
    trusted_metadata: Any = None,
    rbac_email_implicit_role_assignments: Any = None,
    context: RequestContext | None = None,
) -> Organization:
    """Change the fields given (``None`` leaves one as is). Audited."""
    organization = get_organization(reference)
    if rbac_email_implicit_role_assignments is not None:
        organization.rbac_email_implicit_role_assignments = _implicit_roles(
            rbac_email_implicit_role_assignments, organization.organization_id
        )
    if name is not None:
        organization.name = _text(name, "organization_name")
    if slug is not None:
        organization.slug = _text(slug, "organization_slug")
    if external_id is not None:
        organization.external_id = validate_external_id(external_id, "organization_external_id")
    if email_allowed_domains is not None:
        organization.email_allowed_domains = _domains(email_allowed_domains)
    if trusted_metadata is not None:
        organization.trusted_metadata = validate_metadata(trusted_metadata)
    _save_organization(organization, context=context, action="organization_update")
    return organization


def _implicit_roles(value: Any, organization_id: str | None) -> list[dict[str, str]]:
    """``[{"domain", "role_id"}]``: each role one the organization's members may hold."""
    if not isinstance(value, list) or len(value) > 100:
        raise BadRequest("rbac_email_implicit_role_assignments must be a list")
    known = defined_role_ids(organization_id)
    assignments = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) and item[key].strip() for key in ("domain", "role_id")
        ):
            raise BadRequest("each implicit role assignment needs a domain and a role_id")
        if item["role_id"] not in known:
            raise BadRequest(f"unknown role {item['role_id'][:80]!r} in an implicit assignment")
        domain = item["domain"].strip().lower().lstrip("@")
        assignments.append({"domain": domain, "role_id": item["role_id"]})
    return assignments


def delete_organization(reference: Any, *, context: RequestContext | None = None) -> str:
    """Delete an organization with its members and their sessions (as Stytch does).
    Returns its ``organization_id``."""
    with transaction.atomic():
        organization = get_organization(reference)
        organization_id = organization.organization_id
        organization.delete()
        record_change("organization_delete", organization_id=organization_id, context=context)
    return organization_id


def search_organizations(*, query: Any = None, cursor: Any = None, limit: Any = None):
    """Organizations matching a Stytch search ``query``; filters ``organization_ids``,
    ``organization_slugs``, ``organization_external_ids``, ``organization_name_fuzzy``,
    ``organization_slug_fuzzy`` and ``allowed_domains``."""
    condition = search.query_filter(
        query,
        {
            "organization_ids": lambda v: Q(
                organization_id__in=search.string_list("organization_ids", v)
            ),
            "organization_slugs": lambda v: Q(slug__in=search.string_list("organization_slugs", v)),
            "organization_external_ids": lambda v: Q(
                external_id__in=search.string_list("organization_external_ids", v)
            ),
            "organization_name_fuzzy": lambda v: Q(
                name__icontains=search.string_value("organization_name_fuzzy", v)
            ),
            "organization_slug_fuzzy": lambda v: Q(
                slug__icontains=search.string_value("organization_slug_fuzzy", v)
            ),
            "allowed_domains": lambda v: search.any_json_string(
                "domains_text", normalise_domains(search.string_list("allowed_domains", v))
            ),
        },
    )
    # JSON containment is not portable to SQLite: the stored list is matched as text.
    found = Organization.objects.alias(
        domains_text=Cast("email_allowed_domains", TextField())
    ).filter(condition)
    return search.paginate(found, cursor=cursor, limit=limit)


def get_member(
    organization: Organization, reference: Any = None, *, email_address: Any = None
) -> Member:
    """A member of ``organization`` by its ``member_id`` or external id, or by email."""
    members = Member.objects.select_related("organization").filter(organization=organization)
    if isinstance(reference, str) and reference and "\x00" not in reference:
        # One rule: "member-…" is an id and only an id; anything else an external id.
        by = "member_id" if reference.startswith(MEMBER_ID_PREFIX) else "external_id"
        member = members.filter(**{by: reference}).first()
    elif email_address is not None and email_address != "":
        key = normalise_email(email_address, "email_address")
        member = (
            members.alias(email_lower=Lower("email"))
            .filter(email_in("email_lower", "email", [key]))
            .first()
        )
    else:
        raise BadRequest("member_id or email_address is required")
    if member is None:
        raise MemberNotFound(f"no such member in {organization.organization_id}")
    return member


def update_member(
    organization: Organization,
    reference: Any,
    *,
    name: Any = None,
    email_address: Any = None,
    external_id: Any = None,
    roles: Any = None,
    trusted_metadata: Any = None,
    context: RequestContext | None = None,
) -> Member:
    """Change the fields given (``None`` leaves one as is). Audited."""
    member = get_member(organization, reference)
    if name is not None:
        member.name = _text(name, "name")
    if email_address is not None:
        member.email = validate_email_address(email_address, "email_address")
    if external_id is not None:
        member.external_id = validate_external_id(external_id, id_prefix=MEMBER_ID_PREFIX)
    previous_roles = list(member.roles)
    if roles is not None:
        member.roles = _role_list(roles, organization)
    if trusted_metadata is not None:
        member.trusted_metadata = validate_metadata(trusted_metadata)
    roles_changed = member.roles != previous_roles
    _save_member(
        member,
        "member_update",
        "another member of this organization has this email or external_id",
        detail=f"roles: {', '.join(member.roles) or '(none)'}" if roles_changed else "",
        context=context,
    )
    if roles_changed:
        transaction.on_commit(
            lambda: signals.member_roles_changed.send(
                sender=Member, member=member, previous_roles=previous_roles
            )
        )
    return member


def _save_member(member: Member, action: str, duplicate: str, *, detail: str = "", context) -> None:
    """Validate and save ``member`` with its audit event. Constraints are left to the database:
    a duplicate is then a 409 (``duplicate``), also under a race."""
    try:
        member.full_clean(validate_constraints=False, validate_unique=False)
        with transaction.atomic():
            member.save()
            record_change(
                action,
                user_id=member.member_id,
                organization_id=member.organization.organization_id,
                detail=detail,
                context=context,
            )
    except ValidationError as e:
        raise _invalid(e) from e
    except IntegrityError as e:
        raise DuplicateMember(duplicate) from e


def _set_member_status(
    organization: Organization, reference: Any, status: str, action: str, context
) -> Member:
    with transaction.atomic():
        member = get_member(organization, reference)
        Member.objects.filter(pk=member.pk).update(status=status, updated_at=timezone.now())
        if status == DELETED:
            Session.objects.filter(member=member, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        record_change(
            action,
            user_id=member.member_id,
            organization_id=organization.organization_id,
            context=context,
        )
    member.refresh_from_db()
    return member


def delete_member(
    organization: Organization, reference: Any, *, context: RequestContext | None = None
) -> Member:
    """Mark a member ``deleted`` and revoke its live sessions; ``reactivate_member`` undoes
    the status (not the sessions)."""
    return _set_member_status(organization, reference, DELETED, "member_delete", context)


def reactivate_member(
    organization: Organization, reference: Any, *, context: RequestContext | None = None
) -> Member:
    """Make a (deleted) member ``active`` again."""
    return _set_member_status(organization, reference, ACTIVE, "member_reactivate", context)


def search_members(
    *, organization_ids: Any, query: Any = None, cursor: Any = None, limit: Any = None
):
    """Members of the given organizations matching a Stytch search ``query``; filters
    ``member_ids``, ``member_emails``, ``member_email_fuzzy``, ``member_external_ids``,
    ``member_roles`` and ``statuses``."""
    ids = search.string_list("organization_ids", organization_ids)
    condition = search.query_filter(
        query,
        {
            "member_ids": lambda v: Q(member_id__in=search.string_list("member_ids", v)),
            "member_emails": email_list_filter("member_emails"),
            "member_email_fuzzy": lambda v: email_fragment(
                "email", search.string_value("member_email_fuzzy", v), "member_email_fuzzy"
            ),
            "member_external_ids": lambda v: Q(
                external_id__in=search.string_list("member_external_ids", v)
            ),
            "member_roles": lambda v: search.any_json_string(
                "roles_text", search.string_list("member_roles", v)
            ),
            "statuses": lambda v: Q(status__in=search.string_list("statuses", v)),
        },
    )
    members = (
        Member.objects.select_related("organization")
        .alias(email_lower=Lower("email"), roles_text=Cast("roles", TextField()))
        .filter(organization__organization_id__in=ids)
        .filter(condition)
    )
    return search.paginate(members, cursor=cursor, limit=limit)
