from chassis.migrations import run_env
from importer.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
