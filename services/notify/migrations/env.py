from chassis.migrations import run_env
from notify.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
