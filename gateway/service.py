"""The gateway service: HTTP entrypoints only, every answer from a service over RPC."""
from nameko.events import BROADCAST, event_handler

from chassis.rpc_client import ServiceRpc

from chassis import config
from chassis.errors import NotAuthenticated
from chassis.secrets import constant_time_equal
from gateway.principals import PrincipalCache
from gateway.routes.approval import ApprovalRoutes
from gateway.routes.filing import FilingRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.import_pages import ImportPageRoutes
from gateway.routes.importer import ImportRoutes
from gateway.routes.letters import LettersRoutes
from gateway.routes.notify import NotifyRoutes
from gateway.routes.pages import PageRoutes
from gateway.routes.staff_pages import StaffPageRoutes
from gateway.routes.system import SystemRoutes


class GatewayService(IdentityRoutes, ImportRoutes, ApprovalRoutes, NotifyRoutes, LettersRoutes,
                     FilingRoutes, SystemRoutes, PageRoutes, StaffPageRoutes, ImportPageRoutes):
    name = "gateway"

    identity = ServiceRpc("identity")
    importer = ServiceRpc("importer")
    approval = ServiceRpc("approval")
    notify = ServiceRpc("notify")
    letters = ServiceRpc("letters")
    filing = ServiceRpc("filing")
    principals = PrincipalCache()

    def resolve_principal(self, token, ip):
        """The principal behind a bearer token: cached for a few seconds (gateway/principals.py)."""
        principal = self.principals.get(token)
        if principal is None:
            generation = self.principals.generation
            principal = self.identity.authenticate(token=token, ip=ip)
            self.principals.put(token, principal, generation)
        return principal

    @event_handler("identity", "principals_changed", handler_type=BROADCAST, reliable_delivery=False)
    def principals_changed(self, payload):
        """identity changed these users' sessions, rights or clients: every replica drops them."""
        self.principals.forget_users(payload.get("user_ids") or [])

    def platform_principal(self, token):
        expected = config.load().platform_token
        if not token or not constant_time_equal(token, expected):
            raise NotAuthenticated("Alleen met het platformtoken.")
        return {"kind": "platform"}
