from chassis.migrations import run_env
from filing.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
