"""identity's entrypoints: thin; the rules live in the domain modules."""
from chassis.db import Database
from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from identity import firms, principals, sessions
from identity.exceptions import NotAllowed
from identity.models import outbox
from identity.schemas import CreateFirmSchema, LoginSchema


class IdentityService:
    name = "identity"

    db = Database("identity")
    events = EventOutbox(outbox)
    health = HealthCheck()

    @rpc
    def create_firm(self, principal, payload):
        if not Principal.load(principal).is_platform:
            raise NotAllowed("Alleen het platformbeheer mag dit.")
        result = firms.create_firm(self.db.session, CreateFirmSchema().load(payload))
        self.events.emit("firm_created", {"firm_id": result["firm_id"], "branch_ids": result["branch_ids"]})
        return result

    @rpc
    def login(self, payload, ip=None):
        data = LoginSchema().load(payload)
        user = sessions.check_password(self.db.session, data["username"], data["password"])
        token = sessions.start_session(self.db.session, user, ip)
        return {"token": token, "user": principals.user_view(user)}

    @rpc
    def authenticate(self, token, ip=None):
        record, user = sessions.resolve(self.db.session, token)
        return principals.principal_for(self.db.session, user, record.id)

    @rpc
    def logout(self, principal):
        p = Principal.load(principal)
        if p.session_id:
            sessions.end_session(self.db.session, p.session_id)
        return None

    @rpc
    def me(self, principal):
        return principals.me(self.db.session, Principal.load(principal))

    @rpc
    def ping(self):
        return self.health.status()
