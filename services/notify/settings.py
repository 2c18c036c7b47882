"""SMS settings per firm: on/off, sender name, daily cap, SMS to approvers. Read by staff with Beheer (admin),
changed only by firm-wide Beheer: they hold for every branch."""
import sqlalchemy as sa

from chassis.errors import Forbidden
from chassis.principal import Principal
from notify import carriers, sms
from notify.models import SmsSettings


def _row(session, firm_id: int) -> SmsSettings | None:
    return session.execute(sa.select(SmsSettings).where(SmsSettings.firm_id == firm_id)).scalar_one_or_none()


def view(session, firm_id: int, row: SmsSettings | None) -> dict:
    return {
        "enabled": row.enabled if row else True,
        "sender": row.sender if row else None,
        "daily_cap": row.daily_cap if row else sms.DEFAULT_DAILY_CAP,
        "approval_sms": row.approval_sms if row else False,
        "codes_per_number": sms.CODES_PER_NUMBER,
        "code_window_minutes": int(sms.CODE_WINDOW.total_seconds() // 60),
        "max_length": sms.MAX_BODY,
        "sent_today": sms.sent_today(session, firm_id),
        "backend": carriers.sms_backend_name(),
    }


def get(session, principal: Principal) -> dict:
    principal.require_staff("admin")
    return view(session, principal.firm_id, _row(session, principal.firm_id))


def require_firm_admin(principal: Principal):
    """The settings hold for every branch (switching SMS off stops SMS login firm-wide): firm-wide Beheer only."""
    principal.require_staff("admin")
    if not principal.firm_wide:
        raise Forbidden("Alleen kantoorbrede beheerders wijzigen de sms-instellingen van het kantoor.")


def put(session, principal: Principal, data: dict) -> dict:
    require_firm_admin(principal)
    row = sms.settings_for_update(session, principal.firm_id)
    for field in ("enabled", "sender", "daily_cap", "approval_sms"):
        if field in data:
            setattr(row, field, data[field])
    row.updated_at, row.updated_by = sms.utcnow(), principal.user_id
    session.flush()
    return view(session, principal.firm_id, row)


def approval_sms_on(session, firm_id: int) -> bool:
    row = _row(session, firm_id)
    return bool(row and row.enabled and row.approval_sms)
