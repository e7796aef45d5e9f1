"""The registry's tables (SQLAlchemy Core); the Alembic migrations create and change them.

Model files are stored once per content in ``blobs`` (keyed by their SHA-256),
so a version is immutable and pushing the same file twice costs nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("detector", String(100), nullable=False),
    Column("n_rows", BigInteger, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("pushed_by", String(200), nullable=False),
    Column("pushed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "version", name="uq_model_version"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("alias", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("name", String(100), nullable=True),
    Column("version", Integer, nullable=True),
    Column("detail", JSON, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("row_id", String(200), nullable=True),
    Column("row", JSON, nullable=False),
    Column("label", Integer, nullable=False),
    Column("score", Float, nullable=True),
    Column("note", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

stream_states = Table(
    "stream_states",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
