"""Tiny test services that exercise the chassis against real RabbitMQ and PostgreSQL."""
import sqlalchemy as sa

from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.inbox import define_inbox, idempotent_handler
from chassis.outbox import EventOutbox, define_outbox

SCHEMA = "chassis_test"
metadata = sa.MetaData(schema=SCHEMA)
outbox = define_outbox(metadata)
inbox = define_inbox(metadata)
widgets = sa.Table("widgets", metadata, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("name", sa.String(50)))
effects = sa.Table("effects", metadata, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("widget_name", sa.String(50)))


def create_schema(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    metadata.drop_all(engine)
    metadata.create_all(engine)


class ProducerService:
    name = "producer"
    db = Database(SCHEMA)
    events = EventOutbox(outbox)

    @rpc
    def make_widget(self, name):
        self.db.session.execute(widgets.insert().values(name=name))
        self.events.emit("widget_made", {"name": name})
        return name

    @rpc(read_only=True)
    def count_widgets(self):
        """How many widgets, and whether this statement ran without a BEGIN before it
        (its transaction started with it)."""
        count = self.db.session.scalar(sa.select(sa.func.count()).select_from(widgets))
        own_transaction = self.db.session.execute(sa.text(
            "SELECT xact_start = query_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")).scalar()
        return {"count": count, "statement_is_its_own_transaction": own_transaction}

    @rpc(read_only=True)
    def make_widget_read_only(self, name):
        self.db.session.execute(widgets.insert().values(name=name))
        return name

    @rpc
    def slow_query(self, seconds):
        self.db.session.execute(sa.text("SELECT pg_sleep(:s)"), {"s": seconds})
        return seconds


class ConsumerService:
    name = "consumer"
    db = Database(SCHEMA)

    @idempotent_handler(inbox, "producer", "widget_made")
    def on_widget_made(self, data, envelope):
        self.db.session.execute(effects.insert().values(widget_name=data["name"]))
