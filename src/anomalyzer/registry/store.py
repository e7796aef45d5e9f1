"""``Registry``: named, versioned model files with aliases, an audit log, API keys and feedback.

Metadata lives in a database reached through SQLAlchemy: an SQLite file by
default (``~/.anomalyzer/registry.db``, or the ``ANOMALYZER_REGISTRY``
variable), PostgreSQL by URL (``postgresql+psycopg://user@host/db``). Model
files are stored in the same database, once per content (a ``blobs`` row keyed
by the file's SHA-256), so a backup of the database is a backup of the
registry, a version can never change under its number, and a write is
either wholly there or not at all.

>>> import tempfile, pandas as pd
>>> from anomalyzer import Model
>>> tmp = tempfile.mkdtemp()
>>> path = Model("mad").fit(pd.DataFrame({"x": [1.0, 1.2, 0.9, 1.1] * 5})).save(f"{tmp}/m.azm")
>>> reg = Registry(f"sqlite:///{tmp}/registry.db", actor="ana")
>>> reg.push(path, name="fraud").version
1
>>> reg.promote("fraud", 1, alias="production").aliases
['production']
>>> [(m.name, m.latest, m.aliases) for m in reg.list()]
[('fraud', 1, {'production': 1})]
>>> reg.load("fraud", alias="production").detector_name
'mad'
>>> [e.action for e in reg.audit("fraud")]
['push', 'promote']
>>> reg.close()
>>> import shutil; shutil.rmtree(tmp)
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import getpass
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import keys as _keys
from anomalyzer.registry import migrate
from anomalyzer.registry.records import (
    ApiKey,
    AuditEntry,
    FeedbackEntry,
    ModelInfo,
    ModelSummary,
    ModelVersion,
)
from anomalyzer.registry.tables import (
    aliases,
    api_keys,
    audit_log,
    blobs,
    feedback,
    model_versions,
    stream_states,
)

ENV_VAR = "ANOMALYZER_REGISTRY"
#: Alias used when a request names no version and the model has one.
DEFAULT_ALIAS = "production"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
# Push, promote and key writes that collide with another writer (PostgreSQL's
# unique version number) are tried again this many times.
_RETRIES = 5
# Version numbers are 32-bit integers in every database.
_MAX_VERSION = 2**31 - 1
_LABEL_WORDS = {
    "1": 1,
    "anomaly": 1,
    "anomalous": 1,
    "true": 1,
    "yes": 1,
    "0": 0,
    "normal": 0,
    "nominal": 0,
    "false": 0,
    "no": 0,
}


class ModelNotFound(AnomalyzerError):
    """The model, version or alias asked for is not in the registry."""


def default_url() -> str:
    """``ANOMALYZER_REGISTRY`` when set, else an SQLite file under ``~/.anomalyzer``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    return f"sqlite:///{Path.home() / '.anomalyzer' / 'registry.db'}"


def _normal_url(url: str) -> str:
    """A SQLAlchemy URL; a bare file path means an SQLite file."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver the service extra installs.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg")):
        raise AnomalyzerError(
            f"Registry URL {url.split('://', 1)[0]}:// is not supported; use a file path, "
            "sqlite:///path/registry.db or postgresql+psycopg://user@host/db."
        )
    return url


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite keeps no zone: every time written here is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            folder = Path(path).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AnomalyzerError(
                    f"Cannot create the registry folder '{folder}': {exc.strerror or exc}."
                ) from None
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_conn: Any, _record: Any) -> None:
            # Transactions are begun below, so that writers take the lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL: readers never wait for the writer; a commit is durable once
            # acknowledged even if the process is killed right after.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # A writer that starts as a reader can fail to upgrade its lock when
            # another process wrote meanwhile; BEGIN IMMEDIATE waits its turn.
            write = conn.get_execution_options().get("registry_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Registry:
    """Named model files with immutable versions, aliases and an audit log.

    Parameters
    ----------
    url:
        A SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``)
        or a file path; None uses :func:`default_url`. The schema is created
        or upgraded (Alembic) when the registry is opened.
    actor:
        Who makes the changes, written to the audit log (default: the login name).
    """

    def __init__(self, url: str | None = None, *, actor: str | None = None) -> None:
        self.url = _normal_url(url or default_url())
        self.actor = actor or _login()
        self._engine = _engine(self.url)
        try:
            migrate.upgrade(self._engine)
        except OperationalError as exc:
            self._engine.dispose()
            raise AnomalyzerError(
                f"Cannot open the registry at {self.shown_url}: {_first_line(exc)}; "
                "check the URL and that the database server is running."
            ) from None

    @property
    def shown_url(self) -> str:
        """The URL with any password hidden."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Close the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.shown_url!r})"

    # -- transactions -----------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn = conn.execution_options(registry_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def ping(self) -> bool:
        """Whether the database answers (readiness)."""
        try:
            with self._read() as conn:
                conn.execute(select(1)).scalar()
            return True
        except Exception:  # any failure to answer means "not ready", whatever its kind
            return False

    def _audit(
        self,
        conn: Connection,
        action: str,
        name: str | None,
        version: int | None,
        actor: str | None,
        **detail: Any,
    ) -> None:
        conn.execute(
            insert(audit_log).values(
                at=_now(),
                actor=actor or self.actor,
                action=action,
                name=name,
                version=version,
                detail=detail,
            )
        )

    # -- models -----------------------------------------------------------------

    def push(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        metrics: Mapping[str, float] | None = None,
        description: str = "",
        actor: str | None = None,
    ) -> ModelVersion:
        """Store the model file at ``path`` as the next version of ``name``.

        The file is checked (it must load as a model file) and stored as it
        is. Pushing a file identical to an existing version of ``name``
        returns that version instead of adding one (a retried push is harmless).
        ``metrics`` records numbers measured on labelled data, e.g.
        ``{"roc_auc": 0.93}``.
        """
        from anomalyzer.persist import read_manifest

        _check_name(name)
        path = Path(path)
        manifest = read_manifest(path)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        meta = _describe(manifest)
        clean_metrics = _check_metrics(metrics)
        for attempt in range(_RETRIES):
            try:
                with self._write() as conn:
                    same = conn.execute(
                        select(model_versions.c.version).where(
                            model_versions.c.name == name, model_versions.c.sha256 == sha
                        )
                    ).scalar()
                    if same is not None:
                        return self._version(conn, name, int(same))
                    if (
                        conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha)).first()
                        is None
                    ):
                        conn.execute(
                            insert(blobs).values(
                                sha256=sha, size=len(data), data=data, created_at=_now()
                            )
                        )
                    latest = conn.execute(
                        select(func.max(model_versions.c.version)).where(
                            model_versions.c.name == name
                        )
                    ).scalar()
                    version = int(latest or 0) + 1
                    conn.execute(
                        insert(model_versions).values(
                            name=name,
                            version=version,
                            sha256=sha,
                            metrics=clean_metrics,
                            description=str(description),
                            pushed_by=actor or self.actor,
                            pushed_at=_now(),
                            **meta,
                        )
                    )
                    self._audit(conn, "push", name, version, actor, sha256=sha, size=len(data))
                    return self._version(conn, name, version)
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def list(self) -> builtins.list[ModelSummary]:
        """Every named model, by name, with its newest version and its aliases."""
        with self._read() as conn:
            rows = conn.execute(
                select(model_versions).order_by(model_versions.c.name, model_versions.c.version)
            ).all()
            alias_rows = conn.execute(select(aliases)).all()
        by_alias: dict[str, dict[str, int]] = {}
        for a in alias_rows:
            by_alias.setdefault(a.name, {})[a.alias] = int(a.version)
        out: dict[str, list[Any]] = {}
        for r in rows:
            out.setdefault(r.name, []).append(r)
        return [
            ModelSummary(
                name=name,
                latest=int(vs[-1].version),
                n_versions=len(vs),
                aliases=dict(sorted(by_alias.get(name, {}).items())),
                kind=vs[-1].kind,
                detector=vs[-1].detector,
                updated_at=_utc(vs[-1].pushed_at),  # type: ignore[arg-type]
            )
            for name, vs in out.items()
        ]

    def show(self, name: str) -> ModelInfo:
        """Every version of ``name`` (oldest first) and its aliases."""
        with self._read() as conn:
            rows = conn.execute(
                select(model_versions)
                .where(model_versions.c.name == name)
                .order_by(model_versions.c.version)
            ).all()
            if not rows:
                raise self._missing(conn, name)
            alias_map = self._aliases(conn, name)
            sizes = self._sizes(conn, [r.sha256 for r in rows])
        return ModelInfo(
            name=name,
            versions=[_record(r, alias_map, sizes[r.sha256]) for r in rows],
            aliases=alias_map,
        )

    def resolve(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        """The version meant by a number, an alias, ``"latest"``, or nothing.

        Nothing means the ``production`` alias when ``name`` has one, else the
        newest version.
        """
        ref = _ref(version, alias)
        with self._read() as conn:
            return self._version(conn, name, self._number(conn, name, ref))

    def fetch(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> tuple[ModelVersion, bytes]:
        """The version meant (see :meth:`resolve`) and its model file's bytes."""
        ref = _ref(version, alias)
        with self._read() as conn:
            number = self._number(conn, name, ref)
            record = self._version(conn, name, number)
            data = conn.execute(
                select(blobs.c.data).where(blobs.c.sha256 == record.sha256)
            ).scalar()
        if data is None or hashlib.sha256(data).hexdigest() != record.sha256:
            raise AnomalyzerError(
                f"The stored file of model '{name}' version {number} is damaged (its SHA-256 "
                "does not match); push the model again."
            )
        return record, bytes(data)

    def load(self, name: str, version: int | str | None = None, *, alias: str | None = None) -> Any:
        """The model meant (see :meth:`resolve`), loaded: a ``Model`` or a ``SeriesModel``."""
        _record_, data = self.fetch(name, version, alias=alias)
        return load_bytes(data, f"{name}@{_record_.version}")

    def promote(
        self, name: str, version: int | str, alias: str = DEFAULT_ALIAS, *, actor: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` (``production``, ``staging``...) of ``name`` at ``version``."""
        _check_alias(alias)
        with self._write() as conn:
            number = self._number(conn, name, _ref(version, None))
            before = conn.execute(
                select(aliases.c.version).where(aliases.c.name == name, aliases.c.alias == alias)
            ).scalar()
            if before is None:
                conn.execute(
                    insert(aliases).values(
                        name=name,
                        alias=alias,
                        version=number,
                        updated_by=actor or self.actor,
                        updated_at=_now(),
                    )
                )
            else:
                conn.execute(
                    update(aliases)
                    .where(aliases.c.name == name, aliases.c.alias == alias)
                    .values(version=number, updated_by=actor or self.actor, updated_at=_now())
                )
            self._audit(conn, "promote", name, number, actor, alias=alias, previous=before)
            return self._version(conn, name, number)

    def unalias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        """Remove ``alias`` from ``name``."""
        with self._write() as conn:
            found = conn.execute(
                delete(aliases).where(aliases.c.name == name, aliases.c.alias == alias)
            ).rowcount
            if not found:
                raise ModelNotFound(f"Model '{name}' has no alias '{alias}'.")
            self._audit(conn, "unalias", name, None, actor, alias=alias)

    def delete(
        self,
        name: str,
        version: int | None = None,
        *,
        force: bool = False,
        actor: str | None = None,
    ) -> builtins.list[int]:
        """Delete one version of ``name``, or every version when ``version`` is None.

        A version an alias points to is kept unless ``force`` is set (then the
        alias goes too). Feedback stays (it is history); stream state goes.
        Returns the version numbers deleted.
        """
        with self._write() as conn:
            query = select(model_versions.c.version, model_versions.c.sha256).where(
                model_versions.c.name == name
            )
            if version is not None:
                if not 1 <= int(version) <= _MAX_VERSION:
                    raise self._missing(conn, name, version)
                query = query.where(model_versions.c.version == int(version))
            rows = conn.execute(query).all()
            if not rows:
                raise self._missing(conn, name, version)
            numbers = [int(r.version) for r in rows]
            pointed = {a: v for a, v in self._aliases(conn, name).items() if v in numbers}
            if pointed and not force:
                shown = ", ".join(f"{a} -> {v}" for a, v in pointed.items())
                raise AnomalyzerError(
                    f"Model '{name}' has aliases on what would be deleted ({shown}); promote "
                    "another version first or pass force=True (--force)."
                )
            conn.execute(
                delete(aliases).where(aliases.c.name == name, aliases.c.version.in_(numbers))
            )
            conn.execute(
                delete(stream_states).where(
                    stream_states.c.name == name, stream_states.c.version.in_(numbers)
                )
            )
            conn.execute(
                delete(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version.in_(numbers)
                )
            )
            for sha in {r.sha256 for r in rows}:
                used = conn.execute(
                    select(func.count()).where(model_versions.c.sha256 == sha)
                ).scalar()
                if not used:
                    conn.execute(delete(blobs).where(blobs.c.sha256 == sha))
            action = "delete_version" if version is not None else "delete_model"
            self._audit(conn, action, name, version, actor, versions=numbers, aliases=pointed)
        return numbers

    def aliases(self, name: str | None = None) -> dict[tuple[str, str], int]:
        """Every ``(name, alias) -> version``, of one model or all (cheap: the service polls it)."""
        with self._read() as conn:
            query = select(aliases.c.name, aliases.c.alias, aliases.c.version)
            if name is not None:
                query = query.where(aliases.c.name == name)
            return {(r.name, r.alias): int(r.version) for r in conn.execute(query)}

    # -- audit ------------------------------------------------------------------

    def audit(self, name: str | None = None, *, limit: int = 100) -> builtins.list[AuditEntry]:
        """The last ``limit`` changes (of ``name``, or all), oldest first."""
        with self._read() as conn:
            query = select(audit_log).order_by(audit_log.c.id.desc()).limit(int(limit))
            if name is not None:
                query = query.where(audit_log.c.name == name)
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                id=int(r.id),
                at=_utc(r.at),  # type: ignore[arg-type]
                actor=r.actor,
                action=r.action,
                name=r.name,
                version=r.version,
                detail=dict(r.detail or {}),
            )
            for r in reversed(rows)
        ]

    # -- API keys ---------------------------------------------------------------

    def create_key(
        self, scope: str, *, note: str = "", actor: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new API key of ``scope`` (``score`` or ``admin``): its record and the key itself.

        The key is returned once and never stored (only its SHA-256 is).
        """
        if scope not in _keys.SCOPES:
            raise AnomalyzerError(
                f"Unknown key scope {scope!r}; use one of: {', '.join(_keys.SCOPES)}."
            )
        key_id = _keys.new_id()
        token = _keys.new_token(key_id)
        _id, secret = _keys.split_token(token)  # type: ignore[misc]
        with self._write() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    digest=_keys.digest(secret),
                    scope=scope,
                    note=str(note),
                    created_by=actor or self.actor,
                    created_at=_now(),
                    revoked_at=None,
                )
            )
            self._audit(conn, "key_create", None, None, actor, key=key_id, scope=scope)
        return self._key(key_id), token

    def keys(self) -> builtins.list[ApiKey]:
        """Every key (revoked ones too), oldest first; no secrets."""
        with self._read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
        return [_key_record(r) for r in rows]

    def revoke_key(self, key_id: str, *, actor: str | None = None) -> ApiKey:
        """Revoke a key by its id; it stops working at once (the service rechecks within seconds)."""
        with self._write() as conn:
            found = conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if not found:
                raise AnomalyzerError(
                    f"No active API key with id '{key_id}'; see `anomalyzer keys list`."
                )
            self._audit(conn, "key_revoke", None, None, actor, key=key_id)
        return self._key(key_id)

    def verify_key(self, token: str) -> ApiKey | None:
        """The active key ``token`` is, or None (malformed, unknown, wrong secret or revoked)."""
        parts = _keys.split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None or row.revoked_at is not None or not _keys.matches(secret, row.digest):
            return None
        return _key_record(row)

    def _key(self, key_id: str) -> ApiKey:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
        return _key_record(row)

    # -- feedback ---------------------------------------------------------------

    def add_feedback(
        self,
        name: str,
        items: Sequence[Mapping[str, Any]],
        *,
        version: int | str | None = None,
        actor: str | None = None,
    ) -> builtins.list[int]:
        """Store analyst labels for scored rows of a model version; returns their ids.

        Each item holds ``row`` (the row's values), ``label`` (1/0, true/false,
        ``"anomaly"``/``"normal"``) and optionally ``row_id``, ``score`` and ``note``.
        All items are stored in one transaction, or none.
        """
        prepared = [_feedback_item(i, item) for i, item in enumerate(items)]
        if not prepared:
            raise AnomalyzerError("Feedback needs at least one item with a row and a label.")
        with self._write() as conn:
            number = self._number(conn, name, _ref(version, None))
            at = _now()
            ids = []
            for item in prepared:
                result = conn.execute(
                    insert(feedback).values(
                        name=name, version=number, actor=actor or self.actor, at=at, **item
                    )
                )
                key = result.inserted_primary_key
                assert key is not None  # an insert always has one
                ids.append(int(key[0]))
        return ids

    def feedback(self, name: str, *, version: int | None = None) -> builtins.list[FeedbackEntry]:
        """The labels stored for ``name`` (one version, or all), oldest first."""
        query = select(feedback).where(feedback.c.name == name).order_by(feedback.c.id)
        if version is not None:
            query = query.where(feedback.c.version == int(version))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            FeedbackEntry(
                id=int(r.id),
                name=r.name,
                version=int(r.version),
                row_id=r.row_id,
                row=dict(r.row),
                label=int(r.label),
                score=r.score,
                note=r.note,
                actor=r.actor,
                at=_utc(r.at),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    # -- stream state -----------------------------------------------------------

    def stream_state(self, name: str, version: int) -> tuple[int, bytes] | None:
        """``(revision, model file bytes)`` of the streamed state of a series model version, or None."""
        with self._read() as conn:
            row = conn.execute(
                select(stream_states.c.revision, stream_states.c.data).where(
                    stream_states.c.name == name, stream_states.c.version == int(version)
                )
            ).first()
        return None if row is None else (int(row.revision), bytes(row.data))

    def save_stream_state(self, name: str, version: int, data: bytes, revision: int) -> int | None:
        """Store a streamed state over ``revision`` (0 = none yet); the new revision, or None if
        another writer got there first (reload and try again)."""
        with self._write() as conn:
            if revision == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(stream_states).values(
                                name=name,
                                version=int(version),
                                revision=1,
                                data=data,
                                updated_at=_now(),
                            )
                        )
                except IntegrityError:
                    return None
                return 1
            found = conn.execute(
                update(stream_states)
                .where(
                    stream_states.c.name == name,
                    stream_states.c.version == int(version),
                    stream_states.c.revision == int(revision),
                )
                .values(revision=int(revision) + 1, data=data, updated_at=_now())
            ).rowcount
        return int(revision) + 1 if found else None

    # -- helpers ----------------------------------------------------------------

    def _aliases(self, conn: Connection, name: str) -> dict[str, int]:
        rows = conn.execute(
            select(aliases.c.alias, aliases.c.version)
            .where(aliases.c.name == name)
            .order_by(aliases.c.alias)
        ).all()
        return {r.alias: int(r.version) for r in rows}

    def _sizes(self, conn: Connection, shas: Sequence[str]) -> dict[str, int]:
        rows = conn.execute(
            select(blobs.c.sha256, blobs.c.size).where(blobs.c.sha256.in_(set(shas)))
        ).all()
        return {r.sha256: int(r.size) for r in rows}

    def _number(self, conn: Connection, name: str, ref: int | str | None) -> int:
        if isinstance(ref, int):
            if not 1 <= ref <= _MAX_VERSION:  # beyond what the database's integer holds
                raise self._missing(conn, name, ref)
            found = conn.execute(
                select(model_versions.c.version).where(
                    model_versions.c.name == name, model_versions.c.version == ref
                )
            ).scalar()
            if found is None:
                raise self._missing(conn, name, ref)
            return int(found)
        if ref is None or ref == "latest":
            if ref is None:
                pointed = conn.execute(
                    select(aliases.c.version).where(
                        aliases.c.name == name, aliases.c.alias == DEFAULT_ALIAS
                    )
                ).scalar()
                if pointed is not None:
                    return int(pointed)
            latest = conn.execute(
                select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
            ).scalar()
            if latest is None:
                raise self._missing(conn, name)
            return int(latest)
        pointed = conn.execute(
            select(aliases.c.version).where(aliases.c.name == name, aliases.c.alias == ref)
        ).scalar()
        if pointed is None:
            if not self._exists(conn, name):
                raise self._missing(conn, name)
            known = ", ".join(self._aliases(conn, name)) or "none"
            raise ModelNotFound(
                f"Model '{name}' has no alias '{ref}' (its aliases: {known}); promote a version "
                f"with `anomalyzer models promote {name} VERSION --alias {ref}`."
            )
        return int(pointed)

    def _exists(self, conn: Connection, name: str) -> bool:
        return (
            conn.execute(select(model_versions.c.id).where(model_versions.c.name == name)).first()
            is not None
        )

    def _missing(self, conn: Connection, name: str, version: int | None = None) -> ModelNotFound:
        if version is not None and self._exists(conn, name):
            return ModelNotFound(
                f"Model '{name}' has no version {version}; see `anomalyzer models show {name}`."
            )
        return ModelNotFound(
            f"No model named '{name}' in the registry; push one with "
            f"`anomalyzer models push FILE --name {name}`."
        )

    def _version(self, conn: Connection, name: str, version: int) -> ModelVersion:
        row = conn.execute(
            select(model_versions).where(
                model_versions.c.name == name, model_versions.c.version == version
            )
        ).first()
        if row is None:
            raise self._missing(conn, name, version)
        return _record(row, self._aliases(conn, name), self._sizes(conn, [row.sha256])[row.sha256])


# -- module helpers ---------------------------------------------------------------------


def load_bytes(data: bytes, shown: str = "model") -> Any:
    """A model from the bytes of a model file (written to a private temporary file and read back)."""
    from anomalyzer.persist import load

    fd, tmp = tempfile.mkstemp(prefix="anomalyzer-", suffix=".azm")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            return load(tmp)
        except AnomalyzerError as exc:
            raise AnomalyzerError(str(exc).replace(f"'{tmp}'", f"'{shown}'")) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _record(row: Any, alias_map: Mapping[str, int], size: int) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=int(row.version),
        sha256=row.sha256,
        size=size,
        kind=row.kind,
        detector=row.detector,
        n_rows=int(row.n_rows),
        columns=list(row.columns),
        metrics=dict(row.metrics or {}),
        description=row.description,
        pushed_by=row.pushed_by,
        pushed_at=_utc(row.pushed_at),  # type: ignore[arg-type]
        aliases=sorted(a for a, v in alias_map.items() if v == int(row.version)),
    )


def _key_record(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        scope=row.scope,
        note=row.note,
        created_by=row.created_by,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        revoked_at=_utc(row.revoked_at),
    )


def _describe(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The searchable metadata of a model file, from its manifest."""
    settings = manifest.get("model", {})
    if manifest.get("kind") == "series":
        columns = [{"name": str(settings["time"]), "role": "time"}]
        if settings.get("group") is not None:
            columns.append({"name": str(settings["group"]), "role": "group"})
        columns += [{"name": str(c), "role": "value"} for c in settings.get("channels", [])]
        return {
            "kind": "series",
            "detector": str(settings.get("detector", "")),
            "n_rows": int(settings.get("n_rows", 0)),
            "columns": columns,
        }
    schema = manifest.get("schema", {}).get("columns", [])
    return {
        "kind": "table",
        "detector": str(settings.get("detector", "")),
        "n_rows": int(manifest.get("training", {}).get("n_rows", 0)),
        "columns": [{"name": str(c["name"]), "role": str(c["role"])} for c in schema],
    }


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise AnomalyzerError(
            f"Model name {name!r} is not valid; use letters, digits, '.', '_' and '-' "
            "(at most 100, starting with a letter or digit)."
        )


def _check_alias(alias: Any) -> None:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == "latest":
        raise AnomalyzerError(
            f"Alias {alias!r} is not valid; use a word such as 'production' or 'staging' "
            "(letters, digits, '_' and '-', starting with a letter; not 'latest')."
        )


def _ref(version: int | str | None, alias: str | None) -> int | str | None:
    """A version number, an alias name, ``"latest"``, or None (production, else latest)."""
    if alias is not None and version is not None:
        raise AnomalyzerError("Give a version or an alias, not both.")
    if alias is not None:
        return alias
    if isinstance(version, bool):
        raise AnomalyzerError(f"Version {version!r} is not valid; give a number or an alias.")
    if isinstance(version, int):
        return version
    if isinstance(version, str):
        text = version.strip()
        if text.isdigit():
            return int(text)
        if text.lower().startswith("v") and text[1:].isdigit():
            return int(text[1:])
        return text
    if version is None:
        return None
    raise AnomalyzerError(f"Version {version!r} is not valid; give a number or an alias.")


def _check_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise AnomalyzerError(f"Metric {key!r} must be a number, not {value!r}.") from None
        if not math.isfinite(number):
            raise AnomalyzerError(f"Metric {key!r} must be a finite number, not {value!r}.")
        out[str(key)] = number
    return out


def _label(value: Any, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in _LABEL_WORDS:
        return _LABEL_WORDS[value.strip().lower()]
    raise AnomalyzerError(
        f"{where}: label {value!r} is not valid; use 1 or 0, true or false, 'anomaly' or 'normal'."
    )


def _feedback_item(i: int, item: Mapping[str, Any]) -> dict[str, Any]:
    where = f"Feedback item {i}"
    if not isinstance(item, Mapping):
        raise AnomalyzerError(f"{where} must be an object with 'row' and 'label'.")
    row = item.get("row", {})
    if not isinstance(row, Mapping):
        raise AnomalyzerError(f"{where}: 'row' must be an object of column values.")
    try:
        json.dumps(row, allow_nan=False)
    except (TypeError, ValueError):
        raise AnomalyzerError(f"{where}: 'row' must hold plain JSON values.") from None
    if "label" not in item:
        raise AnomalyzerError(f"{where} has no 'label'; give 1 (anomaly) or 0 (normal).")
    score = item.get("score")
    if score is not None:
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise AnomalyzerError(f"{where}: 'score' must be a number.") from None
        if not math.isfinite(score):
            raise AnomalyzerError(f"{where}: 'score' must be a finite number.")
    row_id = item.get("row_id")
    return {
        "row": dict(row),
        "label": _label(item["label"], where),
        "row_id": None if row_id is None else str(row_id)[:200],
        "score": score,
        "note": str(item.get("note") or "")[:2000],
    }


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no entry for this uid (containers)
        return "unknown"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line.rstrip(".")[:200]
