"""The gateway service: HTTP entrypoints only, every answer from a service over RPC."""
from chassis.rpc_client import ServiceRpc

from chassis import config
from chassis.errors import NotAuthenticated
from chassis.secrets import constant_time_equal
from gateway.routes.approval import ApprovalRoutes
from gateway.routes.filing import FilingRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.importer import ImportRoutes
from gateway.routes.letters import LettersRoutes
from gateway.routes.notify import NotifyRoutes
from gateway.routes.system import SystemRoutes


class GatewayService(IdentityRoutes, ImportRoutes, ApprovalRoutes, NotifyRoutes, LettersRoutes,
                     FilingRoutes, SystemRoutes):
    name = "gateway"

    identity = ServiceRpc("identity")
    importer = ServiceRpc("importer")
    approval = ServiceRpc("approval")
    notify = ServiceRpc("notify")
    letters = ServiceRpc("letters")
    filing = ServiceRpc("filing")

    def platform_principal(self, token):
        expected = config.load().platform_token
        if not token or not constant_time_equal(token, expected):
            raise NotAuthenticated("Alleen met het platformtoken.")
        return {"kind": "platform"}
