"""Drop the single-column indexes that a composite index already leads with.

Every attest writes one session row and one audit event; each index is one more B-tree to update
and more pages in the commit. The composite indexes of 0012 (``ta_session_user_idx`` on
``(user, -started_at)`` and so on) serve the joins, cascades and filters these served.

Django's ``AlterField`` would rebuild both tables on SQLite (a copy of every row, seven times);
on SQLite this migration drops the indexes in place instead, and elsewhere lets the schema editor
do what ``AlterField`` does (on PostgreSQL that also drops ``error_type``'s ``_like`` index).
"""

import copy

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, field): each loses its own index.
FIELDS = [
    ("auditevent", "created_at"),
    ("auditevent", "error_type"),
    ("auditevent", "profile"),
    ("session", "member"),
    ("session", "organization"),
    ("session", "profile"),
    ("session", "user"),
]


def _fields(apps):
    for model_name, field_name in FIELDS:
        model = apps.get_model("trusted_auth", model_name)
        old = model._meta.get_field(field_name)
        new = copy.copy(old)  # bound like old (its model, its remote model), but unindexed
        new.db_index = False
        yield model, old, new


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    for model, old, new in _fields(apps):
        if connection.vendor != "sqlite":
            schema_editor.alter_field(model, old, new)
            continue
        table = model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        for index_name, info in constraints.items():
            if (
                info["index"]
                and not info["unique"]
                and not info["primary_key"]
                and info["columns"] == [old.column]
            ):
                schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(index_name)}")


def restore_indexes(apps, schema_editor):
    for model, old, new in _fields(apps):
        schema_editor.alter_field(model, new, old)


class Migration(migrations.Migration):
    dependencies = [
        ("trusted_auth", "0012_admin_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="created_at",
                    field=models.DateTimeField(auto_now_add=True, verbose_name="time"),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="error_type",
                    field=models.CharField(blank=True, max_length=64, verbose_name="error type"),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="profile",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audit_events",
                        to="trusted_auth.trustedauthtokenprofile",
                        verbose_name="profile",
                    ),
                ),
                migrations.AlterField(
                    model_name="session",
                    name="member",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sessions",
                        to="trusted_auth.member",
                        verbose_name="member",
                    ),
                ),
                migrations.AlterField(
                    model_name="session",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="member_sessions",
                        to="trusted_auth.organization",
                        verbose_name="organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="session",
                    name="profile",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="sessions",
                        to="trusted_auth.trustedauthtokenprofile",
                        verbose_name="profile that started it",
                    ),
                ),
                migrations.AlterField(
                    model_name="session",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trusted_auth_sessions",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
        )
    ]
