from chassis.migrations import run_env
from approval.models import SCHEMA, Base

run_env(Base.metadata, SCHEMA)
