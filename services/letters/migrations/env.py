from chassis.migrations import run_env
from letters.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
