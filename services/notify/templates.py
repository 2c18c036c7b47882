"""Dutch texts of the notifications (plain text, HTML, SMS). Values are escaped in HTML."""
import html
import os

DOCUMENT_TYPES = {
    "annual_accounts": "jaarrekening",
    "income_tax": "aangifte inkomstenbelasting",
    "corporate_tax": "aangifte vennootschapsbelasting",
    "vat": "btw-aangifte",
    "ec_sales_list": "opgaaf intracommunautaire prestaties (ICP)",
    "payroll_tax": "aangifte loonheffingen",
}

SMS_LIMIT = 160  # one segment where possible


def document_label(document_type: str) -> str:
    return DOCUMENT_TYPES.get(document_type, (document_type or "document").replace("_", " "))


def portal_url() -> str | None:
    return os.environ.get("AKKOORD_PUBLIC_URL")


def _mail(greeting: str, paragraphs: list[str], signature: str) -> tuple[str, str]:
    text = "\n\n".join([greeting, *paragraphs, f"Met vriendelijke groet,\n{signature}"]) + "\n"
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    markup = (f"<!doctype html><html lang=\"nl\"><body><p>{html.escape(greeting)}</p>{body}"
              f"<p>Met vriendelijke groet,<br>{html.escape(signature)}</p></body></html>")
    return text, markup


def _where() -> str:
    url = portal_url()
    return f"Log in op het portaal ({url}) om het te bekijken." if url else "Log in op het portaal om het te bekijken."


def request_opened_mail(name: str, title: str, document_type: str, branch_name: str) -> dict:
    label = document_label(document_type)
    subject = f"Document klaar voor uw akkoord: {title}"
    text, markup = _mail(
        f"Beste {name},",
        [f"Er staat een document voor u klaar om te accorderen: {title} ({label}).",
         _where() + " U geeft uw akkoord met uw PIN-code of met een sms-code."],
        branch_name)
    return {"subject": subject, "text": text, "html": markup}


def request_opened_sms(title: str, branch_name: str) -> str:
    text = f"{branch_name}: er staat een document klaar voor uw akkoord ({title}). Log in op het portaal."
    if len(text) > SMS_LIMIT:
        text = f"{branch_name}: er staat een document klaar voor uw akkoord. Log in op het portaal."
    return text[:SMS_LIMIT]


def request_decided_mail(name: str, decision: str, title: str, document_type: str, request_id: int,
                         client: str, reason: str | None, branch_name: str) -> dict:
    label = document_label(document_type)
    if decision == "approved":
        subject = f"Akkoord gegeven: {title}"
        paragraphs = [f"{client} heeft akkoord gegeven op {title} ({label}), verzoek {request_id}."]
    else:
        subject = f"Akkoord geweigerd: {title}"
        paragraphs = [f"{client} heeft {title} ({label}), verzoek {request_id}, niet geaccordeerd."]
        if reason:
            paragraphs.append(f"Opgegeven reden: {reason}")
    paragraphs.append("U vindt het verzoek en de vastlegging in het portaal.")
    text, markup = _mail(f"Beste {name},", paragraphs, branch_name)
    return {"subject": subject, "text": text, "html": markup}
