"""notify's part of ``akkoord rotate-secret-key``: the stored SMS and e-mail bodies (kept until delivered,
and in the developer outbox) are re-encrypted with the current AKKOORD_SECRET_KEY."""
import sqlalchemy as sa

from chassis import crypto
from notify import mail, sms
from notify.models import EmailMessage, SmsMessage


def rekey(conn: sa.Connection) -> crypto.RekeyReport:
    texts, mails = SmsMessage.__table__, EmailMessage.__table__
    report = crypto.rekey_table(conn, texts, sms.CRYPTO_PURPOSE, texts.c.body_enc, size=500)
    report += crypto.rekey_table(conn, mails, mail.CRYPTO_PURPOSE, mails.c.text_enc, mails.c.html_enc, size=200)
    return report
