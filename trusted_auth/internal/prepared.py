"""Hot-path queries compiled once per database connection: Django's SQL, without rebuilding it.

Building and compiling a queryset costs far more than running it: on the benchmark machine the
identity-link lookup of every attest (``select_related`` across link, identity and user) took
2.8 ms through ``.first()`` and 0.1 ms in SQLite. A ``PreparedQuery`` builds its queryset once
per connection with placeholder values, keeps the SQL and the row-to-instance plan Django made
for it (``ModelIterable``'s: ``from_db``, the ``select_related`` populators, the backend's
converters), and afterwards only executes that SQL with new values: 0.4 ms.

The SQL is Django's own, so it is right for every backend and changes with the queryset; only
exact-match values can be parameters (a placeholder must reach the database unchanged, which
``prepare`` checks). Queries run through ``connection.cursor()``, so ``DEBUG`` logging, query
capture in tests and ``execute_wrapper`` all see them.

``insert(obj)`` is the same for the rows every attest writes (consumed token, session, audit
event): ``obj.save(force_insert=True)`` with the INSERT compiled once per model and connection,
and ``save()`` itself whenever something listens to the model's ``pre_save``/``post_save``.
``insert_all(objs)`` writes several such rows, on PostgreSQL in one statement.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)

# Django 5.2 and 6.0 take (klass_info, select, db); newer django-stubs already add 6.1's
# fetch_mode, so the call is typed loosely rather than with an ignore that depends on the stubs.
_related_populators: Callable[..., list[Any]] = get_related_populators

_INT_PLACEHOLDER_BASE = -(7 * 10**15)  # far outside any primary key
# Every character a lookup might escape or fold (LIKE's % _ \, case): a lookup that changes its
# value on the way to the database (iexact on SQLite, contains, startswith) changes this one
# too, and is refused instead of running later with a value it would have escaped.
_STR_PLACEHOLDER = "\x1fPrepared %_\\'\"ÄÖ:"


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: list[str] | None  # the parameters' names in ``sql`` (SQLite, ``_named``), else None
    slots: list[tuple[str | None, Any]]  # (parameter name, None) or (None, a constant)
    connection: BaseDatabaseWrapper  # this thread's; the plan's converters are bound to it
    converters: dict[int, Any]
    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    populators: list[Any]


class PreparedQuery(Generic[M]):
    """``build(**values)`` returns a queryset of model instances (``select_related`` allowed;
    no annotations, no ``values()``); ``first()`` runs it and returns its first row or None.

    ``types`` names each parameter and its Python type (``str`` or ``int``), e.g.
    ``PreparedQuery(lambda digest: Session.objects.filter(token_digest=digest), digest=str)``.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **types: type) -> None:
        if any(t not in (str, int) for t in types.values()):
            raise TypeError("a PreparedQuery parameter is a str or an int")
        self.build = build
        self.types = types
        self._routing: tuple[type[Model], bool] | None = None  # (model, for write)
        # Per thread, like Django's connections: the plan dies with its thread and connection.
        self._local = threading.local()

    def first(self, using: str | None = None, **values: Any) -> M | None:
        """The first row, from the database the queryset itself would use (its router)."""
        using = using or self._route()
        connection = connections[using]
        plans = self._plans()
        plan = plans.get(using)
        if plan is None or plan.connection is not connection:
            plan = plans[using] = self.prepare(connection)
        params = [values[name] if name else constant for name, constant in plan.slots]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, _bound(plan.names, params))
            row = cursor.fetchone()
        if row is None:
            return None
        if plan.converters:
            row = _converted(row, plan)
        obj = plan.model.from_db(using, plan.init_list, row[plan.start : plan.end])
        for populator in plan.populators:
            populator.populate(row, obj)
        return obj  # type: ignore[return-value]

    def prepare(self, connection: BaseDatabaseWrapper) -> _Plan:
        """Compile the queryset for ``connection`` (each thread has its own)."""
        placeholders = self._placeholders()
        queryset = self.build(**placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        names = {value: name for name, value in placeholders.items()}
        # Placeholders are str or int; any other parameter (a list, say) is a constant.
        slots: list[tuple[str | None, Any]] = [
            (names[p], None) if isinstance(p, str | int) and p in names else (None, p)
            for p in params
        ]
        missing = set(placeholders) - {name for name, _ in slots if name}
        if missing:
            raise ValueError(
                f"PreparedQuery parameters {sorted(missing)} do not reach the SQL unchanged "
                "(only exact-match values can be parameters)"
            )
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        plan = _Plan(
            *_named(sql, connection),
            slots=slots,
            connection=connection,
            converters=compiler.get_converters(
                [column[0] for column in compiler.select[: compiler.col_count]]
            ),
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[column[0].target.attname for column in compiler.select[start:end]],
            populators=_related_populators(klass_info, compiler.select, connection.alias),
        )
        return plan

    def _route(self) -> str:
        if self._routing is None:
            queryset = self.build(**self._placeholders())
            # select_for_update makes a queryset read from the database it writes to.
            self._routing = (queryset.model, getattr(queryset, "_for_write", False))
        model, for_write = self._routing
        return router.db_for_write(model) if for_write else router.db_for_read(model)

    def _placeholders(self) -> dict[str, Any]:
        return {
            name: f"{_STR_PLACEHOLDER}{name}\x1f" if kind is str else _INT_PLACEHOLDER_BASE - i
            for i, (name, kind) in enumerate(self.types.items())
        }

    def _plans(self) -> dict[str, _Plan]:
        return _thread_dict(self._local)


def _converted(row: tuple[Any, ...], plan: _Plan) -> list[Any]:
    """``SQLCompiler.apply_converters`` for one row (e.g. SQLite's text datetimes)."""
    values = list(row)
    for position, (converters, expression) in plan.converters.items():
        value = values[position]
        for converter in converters:
            value = converter(value, expression, plan.connection)
        values[position] = value
    return values


# Django's format-style placeholder: %s, not the escaped %%s.
_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")


def _named(sql: str, connection: BaseDatabaseWrapper) -> tuple[str, list[str] | None]:
    """On SQLite, ``sql`` with named placeholders (``%(p0)s``, ``%(p1)s``…) and their names;
    elsewhere ``sql`` as it is, and None.

    Django's SQLite cursor turns each ``%s`` into ``?`` with a regular expression on every
    execute: 73 µs on the 2.9 KB live-session lookup (measured on the benchmark machine), more
    than SQLite takes to run it. Given a mapping of parameters it fills named placeholders
    with one ``%`` formatting instead, so a plan converts its SQL once, here, with the same
    expression.
    """
    if connection.vendor != "sqlite":
        return sql, None
    counter = itertools.count()
    named = _FORMAT_PLACEHOLDER.sub(lambda _: f"%(p{next(counter)})s", sql)
    return named, [f"p{n}" for n in range(next(counter))]


def _bound(names: list[str] | None, params: list[Any]) -> list[Any] | dict[str, Any]:
    """The parameters for a plan's SQL: by name when it has named placeholders."""
    return params if names is None else dict(zip(names, params, strict=True))


def _thread_dict(local: threading.local) -> dict[Any, Any]:
    """This thread's plans (a new thread starts with none, like its connections)."""
    plans: dict[Any, Any] | None = getattr(local, "plans", None)
    if plans is None:
        plans = local.plans = {}
    return plans


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    names: list[str] | None  # as ``_Plan.names``
    compiler: Any  # its prepare_value turns each object's values into parameters
    connection: BaseDatabaseWrapper
    returning: bool  # the database assigns the pk (an auto field left None)
    returns_pk: bool  # the SQL ends in RETURNING pk; else the pk is last_insert_id's
    unpreparable: bool = False  # e.g. Oracle's RETURNING INTO parameters: plain save() then


_insert_plans = threading.local()


def insert(obj: M, using: str | None = None) -> M:
    """Insert a new ``obj`` as ``obj.save(force_insert=True)`` does, and set its pk. When a
    receiver listens to the model's ``pre_save`` or ``post_save``, the model overrides
    ``save()``, or a value is an expression, it is ``save()`` itself."""
    using = using or router.db_for_write(type(obj), instance=obj)
    prepared = _prepared_insert(obj, using)
    if prepared is None:
        obj.save(force_insert=True, using=using)  # save()'s own path, signals and all
        return obj
    plan, params = prepared
    connection = plan.connection
    meta = obj._meta
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(plan.sql, _bound(plan.names, params))
        if not plan.returning:
            pk = obj.pk
        elif plan.returns_pk:
            pk = cursor.fetchone()[0]  # the INSERT's RETURNING clause (PostgreSQL)
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, str(meta.pk.column))
    _inserted(obj, pk, using)
    return obj


def insert_all(objs: list[Model], using: str | None = None) -> None:
    """``insert`` each of ``objs``, in order. On PostgreSQL, when each is a plain INSERT that
    returns its new pk, they are one statement, one round trip: ``WITH i0 AS (INSERT … RETURNING
    id), i1 AS (…) SELECT * FROM i0, i1`` (PostgreSQL runs every data-modifying ``WITH`` part
    exactly once, and the statement fails or succeeds whole)."""
    if not objs:
        return
    using = using or router.db_for_write(type(objs[0]), instance=objs[0])
    connection = connections[using]
    ready: list[tuple[_InsertPlan, list[Any]]] = []
    if connection.vendor == "postgresql" and len(objs) > 1:
        ready = [p for p in map(_prepared_insert, objs, [using] * len(objs)) if p is not None]
    if len(ready) != len(objs) or not all(plan.returns_pk for plan, _ in ready):
        for obj in objs:
            insert(obj, using)
        return
    parts: list[str] = []
    params: list[Any] = []
    for index, (plan, values) in enumerate(ready):
        parts.append(f'"i{index}" AS ({plan.sql})')
        params.extend(values)
    names = ", ".join(f'"i{index}"' for index in range(len(parts)))
    sql = f"WITH {', '.join(parts)} SELECT * FROM {names}"
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = cursor.fetchone()
    for obj, pk in zip(objs, pks, strict=True):
        _inserted(obj, pk, using)


def _prepared_insert(obj: Model, using: str) -> tuple[_InsertPlan, list[Any]] | None:
    """The compiled INSERT of ``obj`` and its parameters, or None when only ``save()`` will do."""
    meta = obj._meta
    returning = meta.auto_field is not None and obj.pk is None
    fields = [f for f in meta.local_concrete_fields if not (returning and f is meta.auto_field)]
    values = [field.pre_save(obj, add=True) for field in fields]  # auto_now_add and the like
    if (
        type(obj).save is not Model.save  # a model that does more on save
        or pre_save.has_listeners(type(obj))
        or post_save.has_listeners(type(obj))
        or any(hasattr(value, "resolve_expression") for value in values)
    ):
        return None
    connection = connections[using]
    plans: dict[tuple[type[Model], str, bool], _InsertPlan] = _thread_dict(_insert_plans)
    key = (type(obj), using, returning)
    plan = plans.get(key)
    if plan is None or plan.connection is not connection:
        plan = plans[key] = _prepare_insert(obj, fields, returning, connection)
    if plan.unpreparable:
        return None
    params = [
        plan.compiler.prepare_value(field, value)
        for field, value in zip(fields, values, strict=True)
    ]
    return plan, params


def _inserted(obj: Model, pk: Any, using: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


def _prepare_insert(
    obj: Model, fields: list[Any], returning: bool, connection: BaseDatabaseWrapper
) -> _InsertPlan:
    meta = obj._meta
    if any(f.db_returning and f is not meta.auto_field for f in meta.local_concrete_fields):
        raise ValueError(f"{meta.label} has columns the database fills in: not preparable")
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj], raw=True)  # raw: read the values insert() set, no pre_save
    compiler = query.get_compiler(connection=connection)
    # SQLite hands the new rowid to the cursor (``lastrowid``) for free, while a RETURNING
    # clause cost 0.13 ms more per INSERT there (Python's sqlite3, measured on the benchmark
    # machine): only the other backends ask for the pk back.
    returns_pk = (
        returning
        and connection.vendor != "sqlite"
        and connection.features.can_return_columns_from_insert
    )
    compiler.returning_fields = [meta.pk] if returns_pk else None
    [(sql, params)] = compiler.as_sql()
    return _InsertPlan(
        *_named(sql, connection),
        compiler=compiler,
        connection=connection,
        returning=returning,
        returns_pk=returns_pk,
        # One parameter per field, no more: each value goes in as one %s.
        unpreparable=len(params) != len(fields),
    )
