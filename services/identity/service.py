"""identity's entrypoints: thin; the rules live in the domain modules."""
from marshmallow import ValidationError

from chassis.entrypoints import rpc
from chassis.health import HealthCheck
from chassis.outbox import EventOutbox
from chassis.principal import Principal
from chassis.rpc_client import ServiceRpc
from chassis.schemas import RowLoader
from identity import (activation, clients, confirmation, directory, firms, passwords, principals, sessions,
                      tokens, users)
from identity.exceptions import NotAllowed
from identity.principal_changes import WatchedDatabase
from identity.models import outbox
from identity.schemas import (ActivateSchema, ActivationReissueSchema, BranchInSchema, BranchPatchSchema, BulkSchema,
                              CheckConfirmationSchema, ClientInSchema, ClientUserInSchema, CreateFirmSchema,
                              GroupInSchema, IdsSchema, ImportRowSchema, LoginSchema, MobileChangeSchema,
                              MobileConfirmSchema, NumbersSchema, PasswordChangeSchema, SearchSchema, SendCodeSchema, SmsLoginSchema,
                              StaffInSchema, TokensSchema, UpsertSchema, UserPatchSchema)

IMPORT_ROW = RowLoader(ImportRowSchema())  # rows come by the thousand: the fields called directly


class IdentityService:
    name = "identity"

    db = WatchedDatabase("identity")  # reports principal changes to the gateways' caches
    events = EventOutbox(outbox)
    health = HealthCheck()
    notify = ServiceRpc("notify")
    letters = ServiceRpc("letters")

    # -- firms and sessions ------------------------------------------------
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
        if user.login_method == "password_sms":
            # wrong SMS codes keep counting until the code is right: the password alone clears nothing
            return confirmation.start_login_challenge(self.db.session, self.notify, user)
        sessions.record_success(self.db.session, sessions.throttle_key(user.username))
        token = sessions.start_session(self.db.session, user, ip)
        return {"token": token, "user": principals.user_view(user)}

    @rpc
    def login_sms(self, payload, ip=None):
        data = SmsLoginSchema().load(payload)
        user = confirmation.finish_login_challenge(self.db.session, data["challenge_id"], data["code"])
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

    @rpc(read_only=True)
    def me(self, principal):
        return users.me(self.db.session, Principal.load(principal))

    @rpc
    def activate(self, payload):
        data = ActivateSchema().load(payload)
        user = activation.activate(self.db.session, data["username"], data["activation_code"], data["password"])
        return {"id": user.id, "username": user.username, "activated": True}

    # -- branches, groups, staff -------------------------------------------
    @rpc(read_only=True)
    def branch_layout(self, branch_id):
        return directory.branch_layout(self.db.session, int(branch_id))

    @rpc(read_only=True)
    def list_branches(self, principal):
        return directory.list_branches(self.db.session, Principal.load(principal))

    @rpc
    def create_branch(self, principal, payload):
        return directory.create_branch(self.db.session, Principal.load(principal), BranchInSchema().load(payload))

    @rpc
    def update_branch(self, principal, branch_id, payload):
        return directory.update_branch(self.db.session, Principal.load(principal), int(branch_id),
                                       BranchPatchSchema().load(payload))

    @rpc(read_only=True)
    def list_groups(self, principal, kind=None):
        return directory.list_groups(self.db.session, Principal.load(principal), kind)

    @rpc
    def create_group(self, principal, payload):
        return directory.create_group(self.db.session, Principal.load(principal), GroupInSchema().load(payload))

    @rpc(read_only=True)
    def list_staff(self, principal):
        return directory.list_staff(self.db.session, Principal.load(principal))

    @rpc
    def create_staff(self, principal, payload):
        return directory.create_staff(self.db.session, Principal.load(principal), StaffInSchema().load(payload),
                                      self.events)

    @rpc(read_only=True)
    def contacts(self, user_ids):
        return directory.contacts(self.db.session, IdsSchema().load({"ids": user_ids})["ids"])

    @rpc(read_only=True)
    def staff_contacts(self, firm_id, branch_id=None):
        return directory.staff_contacts(self.db.session, int(firm_id), None if branch_id is None else int(branch_id))

    # -- clients -------------------------------------------------------------
    @rpc(read_only=True)
    def search_clients(self, principal, query=None):
        q = SearchSchema().load(query or {})
        return clients.search(self.db.session, Principal.load(principal), q["q"], q["branch_id"], q["page"],
                              q["per_page"])

    @rpc(read_only=True)
    def get_client(self, principal, client_id, reveal_bsn=False):
        return clients.get(self.db.session, Principal.load(principal), int(client_id), reveal_bsn=reveal_bsn is True)

    @rpc
    def create_client(self, principal, payload):
        return clients.create(self.db.session, Principal.load(principal), ClientInSchema().load(payload),
                              self.events)

    @rpc
    def update_client(self, principal, client_id, payload):
        return clients.update(self.db.session, Principal.load(principal), int(client_id),
                              ClientInSchema().load(payload), self.events)

    @rpc(read_only=True)
    def client_scope(self, principal, client_id):
        return clients.ensure_visible(self.db.session, Principal.load(principal), int(client_id))

    @rpc(read_only=True)
    def clients_by_numbers(self, principal, numbers):
        data = NumbersSchema().load({"numbers": numbers})
        return clients.by_numbers(self.db.session, Principal.load(principal), data["numbers"])

    @rpc(read_only=True)
    def client_numbers_elsewhere(self, principal, numbers):
        data = NumbersSchema().load({"numbers": numbers})
        return clients.numbers_elsewhere(self.db.session, Principal.load(principal), data["numbers"])

    @rpc
    def upsert_clients(self, principal, rows, group_id=None, import_id=None):
        data = UpsertSchema().load({"rows": rows, "group_id": group_id, "import_id": import_id})
        clean = []
        for row in data["rows"]:
            if not isinstance(row, dict):
                clean.append({"number": "", "_invalid": {"row": ["Een rij is een object met velden."]}})
                continue
            try:
                clean.append(IMPORT_ROW.load(ImportRowSchema.clean(row)))
            except ValidationError as exc:  # this row is invalid; the others go on
                clean.append({"number": str(row.get("number") or "").replace("\x00", "")[:50],
                              "_invalid": exc.messages})
        return clients.upsert(self.db.session, Principal.load(principal), clean, data["group_id"],
                              data["import_id"], self.events)

    # -- client users ----------------------------------------------------------
    @rpc(read_only=True)
    def client_users(self, principal, client_id):
        return users.client_users(self.db.session, Principal.load(principal), int(client_id))

    @rpc
    def create_client_user(self, principal, client_id, payload):
        return users.create_for_client(self.db.session, Principal.load(principal), int(client_id),
                                       ClientUserInSchema().load(payload), self.letters, principal, self.events,
                                       self.notify)

    @rpc
    def bulk_create_users(self, principal, payload):
        data = BulkSchema().load(payload)
        return users.bulk_create(self.db.session, Principal.load(principal), data["client_ids"], data["group_id"],
                                 self.letters, principal, self.events, self.notify, data["delivery"])

    @rpc
    def update_user(self, principal, user_id, payload):
        return users.update_user(self.db.session, Principal.load(principal), int(user_id),
                                 UserPatchSchema().load(payload), self.events)

    @rpc
    def reissue_activation(self, principal, user_id, payload=None):
        data = ActivationReissueSchema().load(payload or {})
        return users.reissue_activation(self.db.session, Principal.load(principal), int(user_id), self.letters,
                                        principal, self.events, self.notify, data["delivery"])

    @rpc
    def issue_tokens(self, principal, payload):
        return tokens.issue(self.db.session, Principal.load(principal), TokensSchema().load(payload), self.letters,
                            principal, self.events)

    # -- confirmations (approval) and own mobile ---------------------------------
    @rpc
    def check_confirmation(self, user_id, method, secret, binding=None):
        data = CheckConfirmationSchema().load({"user_id": user_id, "method": method, "secret": secret,
                                               "binding": binding})
        return confirmation.check(self.db.session, data["user_id"], data["method"], data["secret"], data["binding"])

    @rpc
    def send_confirmation_code(self, user_id, binding):
        data = SendCodeSchema().load({"user_id": user_id, "binding": binding})
        return confirmation.send_code(self.db.session, self.notify, data["user_id"], data["binding"])

    @rpc
    def change_password(self, principal, payload):
        data = PasswordChangeSchema().load(payload)
        p = Principal.load(principal)
        user, firm = users.own_account(self.db.session, p)
        passwords.change_own(self.db.session, user, data["current_password"], data["new_password"], firm.name,
                             p.session_id)
        return None

    @rpc
    def change_mobile(self, principal, payload):
        data = MobileChangeSchema().load(payload)
        return confirmation.request_mobile_change(self.db.session, self.notify, Principal.load(principal),
                                                  data["mobile"], data["pin"])

    @rpc
    def confirm_mobile(self, principal, payload):
        data = MobileConfirmSchema().load(payload)
        return confirmation.confirm_mobile_change(self.db.session, self.notify, Principal.load(principal),
                                                  data["code"], self.events)

    @rpc
    def ping(self):
        return self.health.status()
