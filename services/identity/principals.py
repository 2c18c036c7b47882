"""Who is acting: the principal built from a user, passed on every tenant RPC."""
import sqlalchemy as sa

from identity.models import Firm, User

try:  # client links arrive with the directory (clients, client users)
    from identity.models import ClientUserLink
except ImportError:  # pragma: no cover
    ClientUserLink = None


def staff_branch_id(session, user: User) -> int | None:
    """The branch that limits a staff user's scope: only with Vestigingenbeheer (multi_branch) are the
    clients of one branch hidden from staff of another; without it every employee works firm-wide."""
    if user.kind != "staff" or user.branch_id is None:
        return None
    firm = session.get(Firm, user.firm_id)
    return user.branch_id if firm is not None and firm.multi_branch else None


def principal_for(session, user: User, session_id: int | None = None) -> dict:
    client_ids, superuser_ids = [], []
    if user.kind == "client" and ClientUserLink is not None:
        for link in session.scalars(sa.select(ClientUserLink).where(ClientUserLink.user_id == user.id)):
            client_ids.append(link.client_id)
            if link.superuser:
                superuser_ids.append(link.client_id)
    return {
        "kind": user.kind, "user_id": user.id, "username": user.username, "firm_id": user.firm_id,
        "branch_id": staff_branch_id(session, user),
        "client_ids": sorted(client_ids), "superuser_client_ids": sorted(superuser_ids),
        "rights": sorted(set(user.rights or [])), "session_id": session_id,
    }


def user_view(user: User) -> dict:
    return {"id": user.id, "kind": user.kind, "username": user.username, "name": user.name,
            "email": user.email, "mobile": user.mobile, "branch_id": user.branch_id,
            "group_id": user.group_id, "rights": sorted(set(user.rights or [])), "active": user.active,
            "confirmation": user.confirmation_method, "login": user.login_method}
