"""Alembic migrations, one history per service, each in its own schema.

Each service keeps ``<package>/migrations/versions``; its ``env.py`` calls
``run_env(metadata, schema)``. ``upgrade_all()`` is what ``make demo``, the
tests and the Kubernetes migration Job run, once, before any service starts.
"""
import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from chassis import config as settings
from chassis.db import get_engine, is_postgres, normalise_url

SERVICE_PACKAGES = {"identity": "identity", "importer": "importer", "approval": "approval",
                    "notify": "notify", "letters": "letters", "filing": "filing"}


def alembic_config(package: str, url: str) -> Config:
    module = importlib.import_module(package)
    script_location = Path(module.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.attributes["schema"] = package
    return cfg


def upgrade(package: str, url: str | None = None, revision: str = "head"):
    url = url or settings.load().database_url
    engine = get_engine(url)
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{package}"'))
    cfg = alembic_config(package, url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def upgrade_all(url: str | None = None, packages=None):
    for package in packages or SERVICE_PACKAGES.values():
        if (Path(importlib.import_module(package).__file__).parent / "migrations" / "env.py").exists():
            upgrade(package, url)


def run_env(metadata: sa.MetaData, schema: str):
    """Body of every service's migrations/env.py."""
    cfg = context.config
    connection = cfg.attributes.get("connection")
    options = dict(target_metadata=metadata, version_table_schema=schema, include_schemas=True,
                   include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
                   render_as_batch=True)
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = get_engine(cfg.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()


def main():
    import argparse
    parser = argparse.ArgumentParser(description="Run akkoord's database migrations once.")
    parser.add_argument("services", nargs="*", help="services to migrate (default: all)")
    args = parser.parse_args()
    upgrade_all(packages=args.services or None)
    print("migrations: up to date")


if __name__ == "__main__":
    main()


def new_revision(package: str, message: str, admin_url: str = "postgresql://127.0.0.1:5432/test"):
    """Autogenerate a migration for ``package`` against a scratch PostgreSQL database
    brought up to the current head (``make migration SERVICE=... MSG=...``)."""
    import uuid
    scratch = f"akkoord_rev_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
    url = sa.engine.make_url(normalise_url(admin_url)).set(database=scratch).render_as_string(hide_password=False)
    try:
        upgrade(package, url)
        cfg = alembic_config(package, url)
        versions = Path(cfg.get_main_option("script_location")) / "versions"
        number = len([p for p in versions.glob("*.py") if p.name != "__init__.py"]) + 1
        with get_engine(url).begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True, rev_id=f"{number:04d}")
    finally:
        from chassis.db import dispose_engines
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}"'))
