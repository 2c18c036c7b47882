from chassis.migrations import run_env
from identity.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
