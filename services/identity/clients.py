"""Clients: the firm's companies and persons (SPEC §3), their fields, search and import upserts."""
import datetime as dt
import logging
import re
import unicodedata

import phonenumbers
import sqlalchemy as sa
from stdnum.eu import vat as eu_vat
from stdnum.nl import bsn as nl_bsn

from chassis import crypto
from chassis.db import insert_many, is_postgres
from chassis.dutch_numbers import elfproef, nl_vat_valid
from chassis.errors import Invalid, NotFound
from chassis.principal import Principal
from identity import scope
from identity.exceptions import ClientNumberTaken, NotAllowed
from identity.mobiles import normalise_mobile
from identity.models import Branch, Client, Group, User

log = logging.getLogger(__name__)

# Every client field of SPEC §3 (the HTTP/RPC names), in the template's order.
FIELDS = ("number", "name", "legal_form", "kvk", "bsn", "rsin", "vat", "street", "house_number", "postcode",
          "city", "country", "email", "phone", "mobile", "contact")
PLAIN = ("number", "name", "legal_form", "kvk", "rsin", "vat", "street", "house_number", "postcode", "city",
         "country", "email", "phone", "mobile", "contact")
MAX_LENGTH = {"number": 50, "name": 200, "legal_form": 100, "street": 200, "house_number": 20, "city": 100,
              "country": 100, "email": 254, "phone": 30, "contact": 200}
BSN_PURPOSE = "identity.client.bsn"
_POSTCODE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DUTCH = {"", "nl", "nederland", "the netherlands", "netherlands", "holland"}
# Fast paths that only ever accept, for the forms the importer sends (100,000 rows a file); anything
# they do not accept goes through stdnum / phonenumbers as before, which stay the authority.
_NL_MOBILE_E164 = re.compile(r"\+31([0-9]{9})")
_NL_MOBILE = re.compile(phonenumbers.PhoneMetadata.metadata_for_region("NL").mobile.national_number_pattern)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def fold(text) -> str:
    text = str(text or "")
    if text.isascii():  # nothing to decompose: most names and every number (an import folds 100,000)
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _digits(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value)


# -- normalising one field at a time ------------------------------------------
def normalise(data: dict) -> tuple[dict, dict]:
    """(clean values, errors per field). Empty values become None; ``branch``/``branch_id`` pass through."""
    clean, errors = {}, {}
    for key in FIELDS:
        if key not in data:
            continue
        raw = data[key]
        value = None if raw is None else str(raw).strip()
        if not value:
            clean[key] = None
            continue
        if key == "bsn" and value.startswith("*"):
            continue  # a masked BSN (from an export) means "keep what is stored"
        try:
            clean[key] = _FIELD_RULES.get(key, _plain)(key, value, data)
        except ValueError as exc:
            errors[key] = [str(exc)]
    for key in ("branch", "branch_id", "group_id"):
        if key in data:
            clean[key] = data[key]
    return clean, errors


def _plain(key, value, _data):
    if len(value) > MAX_LENGTH.get(key, 200):
        raise ValueError(f"Hoogstens {MAX_LENGTH.get(key, 200)} tekens.")
    return value


def _kvk(_key, value, _data):
    digits = _digits(value)
    if not digits.isdigit() or len(digits) > 8:
        raise ValueError("Een KvK-nummer heeft 8 cijfers.")
    return digits.zfill(8)  # a spreadsheet drops leading zeros; the KvK keeps them


def _elfproef(label):
    def rule(_key, value, _data):
        digits = _digits(value)
        if not digits.isdigit() or len(digits) > 9:
            raise ValueError(f"Een {label} heeft 9 cijfers.")
        digits = digits.zfill(9)
        if not elfproef(digits) and not nl_bsn.is_valid(digits):
            raise ValueError(f"Dit {label} klopt niet (elfproef).")
        return digits
    return rule


def _vat(_key, value, _data):
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if nl_vat_valid(compact):
        return compact  # what stdnum's nl.btw accepts
    if not eu_vat.is_valid(compact):
        raise ValueError("Geen geldig btw-nummer.")
    return compact


def _postcode(_key, value, data):
    match = _POSTCODE.match(value)
    if match:
        return f"{match.group(1)} {match.group(2).upper()}"
    if fold(data.get("country") or "").strip() in _DUTCH:
        raise ValueError("Een postcode heeft de vorm 1234 AB.")
    return _plain("postcode", value, data)


def _email(_key, value, _data):
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("Geen geldig e-mailadres.")
    return value


def _mobile(_key, value, _data):
    nl = _NL_MOBILE_E164.fullmatch(value)
    if nl and _NL_MOBILE.fullmatch(nl.group(1)):
        return value  # already E.164 and a Dutch mobile number: what normalise_mobile returns
    return normalise_mobile(value)


def _number(key, value, data):
    return _plain(key, value, data)


_FIELD_RULES = {"kvk": _kvk, "bsn": _elfproef("BSN"), "rsin": _elfproef("RSIN"), "vat": _vat,
                "postcode": _postcode, "email": _email, "mobile": _mobile, "number": _number}


# -- BSN at rest --------------------------------------------------------------
def encrypt_bsn(bsn: str | None) -> bytes | None:
    return crypto.encrypt(bsn.encode(), BSN_PURPOSE) if bsn else None


def decrypt_bsn(token: bytes | None) -> str | None:
    return crypto.decrypt(bytes(token), BSN_PURPOSE).decode() if token else None


def mask_bsn(bsn: str | None) -> str | None:
    return ("*" * 6 + bsn[-3:]) if bsn else None


# -- views --------------------------------------------------------------------
def branch_names(session, clients) -> dict[int, str]:
    """The names of these clients' branches (the ``branch`` field of SPEC §3), one query for a page."""
    ids = {c.branch_id for c in clients}
    return dict(session.execute(sa.select(Branch.id, Branch.name).where(Branch.id.in_(ids))).all()) if ids else {}


def view(client: Client, full_bsn: bool = False, branches: dict[int, str] | None = None) -> dict:
    bsn = decrypt_bsn(client.bsn_encrypted)
    data = {"id": client.id, "firm_id": client.firm_id, "branch_id": client.branch_id,
            "branch": (branches or {}).get(client.branch_id)}
    for key in PLAIN:
        data[key] = getattr(client, key)
    data["bsn"] = bsn if full_bsn else mask_bsn(bsn)
    data["group_id"] = client.group_id
    data["created_at"] = client.created_at.isoformat() if client.created_at else None
    data["updated_at"] = client.updated_at.isoformat() if client.updated_at else None
    return data


def scope_view(client: Client) -> dict:
    return {"id": client.id, "firm_id": client.firm_id, "branch_id": client.branch_id,
            "number": client.number, "name": client.name}


def event_data(client: Client) -> dict:
    return scope_view(client) | {"client_id": client.id}


def _search_text(client: Client) -> str:
    return " ".join(fold(v) for v in (client.name, client.number, client.kvk) if v)


# -- reading ------------------------------------------------------------------
def get(session, p: Principal, client_id: int, reveal_bsn: bool = False) -> dict:
    """One client, its BSN masked (SPEC §3). Staff who need the number ask for it explicitly, and every such
    look is logged (who, which client; never the number): a BSN is a special personal number (AVG)."""
    found = scope.client(session, p, client_id)
    if reveal_bsn:
        if not p.is_staff:
            raise NotAllowed("Alleen medewerkers van het kantoor zien het volledige BSN.")
        if found.bsn_encrypted:
            log.info("bsn revealed", extra={"audit": True, "user_id": p.user_id, "firm_id": p.firm_id,
                                            "client_id": found.id})
    return view(found, full_bsn=reveal_bsn, branches=branch_names(session, [found]))


def search(session, p: Principal, q: str | None, branch_id: int | None, page: int, per_page: int) -> dict:
    where = [scope.client_filter(p)]
    if branch_id is not None:
        where.append(Client.branch_id == branch_id)
    text = fold(q or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(Client.search_text.like(pattern, escape="\\"))
    offset = (page - 1) * per_page
    if text:
        # The matches are collected once, narrow (id, name), through the trigram index; their count
        # and the page come from that set, and only the page's rows are read in full. Written as a
        # plain ORDER BY ... LIMIT, PostgreSQL walks the (firm, name) index instead and filters every
        # client of the firm: 80-110 ms for a common word at 100,000 clients against about 10 ms.
        matches = sa.select(Client.id, Client.name).where(*where).cte("matches")
        if is_postgres(session):
            matches = matches.prefix_with("MATERIALIZED")
        page_ids = (sa.select(matches.c.id).order_by(matches.c.name, matches.c.id)
                    .offset(offset).limit(per_page).subquery("page"))
        total_of = sa.select(sa.func.count()).select_from(matches).scalar_subquery()
        found = session.execute(sa.select(Client, total_of.label("total"))
                                .join(page_ids, page_ids.c.id == Client.id)
                                .order_by(Client.name, Client.id)).all()
        rows = [r[0] for r in found]
        total = found[0].total if found else None
    else:
        # The empty box walks the (firm, name) index for the page; the count is separate.
        rows = session.scalars(sa.select(Client).where(*where).order_by(Client.name, Client.id)
                               .offset(offset).limit(per_page)).all()
        total = None
    if total is None:
        if len(rows) < per_page and (rows or page == 1):
            total = offset + len(rows)  # the last page: the total is known without counting
        else:
            total = session.scalar(sa.select(sa.func.count()).select_from(Client).where(*where))
    names = branch_names(session, rows)
    return {"items": [view(c, branches=names) for c in rows], "total": total, "page": page, "per_page": per_page}


def by_numbers(session, p: Principal, numbers: list[str]) -> dict:
    p.require_staff()
    wanted = [str(n).strip() for n in numbers if str(n).strip()]
    found = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for c in session.scalars(sa.select(Client).where(scope.client_filter(p), Client.number.in_(chunk))):
            # staff compare an import with what is stored, BSN included
            found[c.number] = view(c, full_bsn=True)
    return found


def numbers_elsewhere(session, p: Principal, numbers: list[str]) -> list[str]:
    """Which of ``numbers`` belong to clients of the firm outside the principal's scope (another
    branch). An import row with one cannot create a client (the number is taken) nor update it
    (not this person's client), so the preview says so; only the numbers are told, nothing else."""
    p.require_staff()
    if p.branch_id is None:
        return []  # firm-wide staff see every client of the firm
    wanted = [str(n).strip() for n in numbers if str(n).strip()]
    taken = []
    for start in range(0, len(wanted), 1000):
        taken += session.scalars(sa.select(Client.number).where(
            Client.firm_id == p.firm_id, Client.number.in_(wanted[start:start + 1000]),
            sa.not_(scope.client_filter(p)))).all()
    return sorted(taken)


# -- writing ------------------------------------------------------------------
def _default_branch(session, p: Principal) -> int | None:
    """Where a new client goes when nobody names a branch: the maker's own branch (in a firm without
    Vestigingenbeheer its staff see every client, but the branch still prints the letters), else the first."""
    if p.is_staff and p.user_id is not None:
        own = session.scalar(sa.select(User.branch_id).where(User.id == p.user_id, User.firm_id == p.firm_id))
        if own is not None:
            return own
    return session.scalar(sa.select(sa.func.min(Branch.id)).where(Branch.firm_id == p.firm_id))


def _resolve_branch(session, p: Principal, values: dict, current: int | None) -> int:
    branch_id = values.get("branch_id")
    name = values.get("branch")
    if branch_id is None and name not in (None, ""):
        branch_id = session.scalar(sa.select(Branch.id).where(
            Branch.firm_id == p.firm_id, sa.or_(sa.func.lower(Branch.name) == str(name).strip().lower(),
                                                sa.func.lower(Branch.display_name) == str(name).strip().lower())))
        if branch_id is None:
            raise ValueError("Onbekende vestiging.")
    if branch_id is None:
        if current is not None:
            return current
        if p.branch_id is not None:
            return p.branch_id
        branch_id = _default_branch(session, p)
    branch = session.get(Branch, int(branch_id))
    if branch is None or branch.firm_id != p.firm_id or not p.sees_branch(branch.id):
        raise ValueError("Onbekende vestiging.")
    return branch.id


def _group(session, p: Principal, group_id) -> int | None:
    if group_id in (None, ""):
        return None
    group = session.get(Group, int(group_id))
    if group is None or group.firm_id != p.firm_id or group.kind != "client":
        raise NotFound("Deze cliëntgroep bestaat niet.", {"group_id": group_id})
    return group.id


def _apply(client: Client, values: dict, only_non_empty: bool) -> bool:
    """Copy values onto the client; returns whether anything changed. Empty values never erase on import."""
    changed = False
    for key in FIELDS:
        if key not in values:
            continue
        value = values[key]
        if value is None and only_non_empty:
            continue
        if key == "bsn":
            if value != decrypt_bsn(client.bsn_encrypted):
                client.bsn_encrypted = encrypt_bsn(value)
                changed = True
            continue
        if key in ("number", "name") and value is None:
            continue  # required fields are never blanked
        if getattr(client, key) != value:
            setattr(client, key, value)
            changed = True
    if changed:
        client.search_text = _search_text(client)
        client.updated_at = now()
    return changed


def create(session, p: Principal, data: dict, events) -> dict:
    p.require_staff()
    values, errors = normalise(data)
    if not values.get("number"):
        errors.setdefault("number", ["Verplicht."])
    if not values.get("name"):
        errors.setdefault("name", ["Verplicht."])
    try:
        branch_id = _resolve_branch(session, p, values, None)
    except ValueError as exc:
        errors["branch_id"] = [str(exc)]
    if errors:
        raise Invalid("De invoer is ongeldig.", {"fields": errors})
    if session.scalar(sa.select(Client.id).where(Client.firm_id == p.firm_id, Client.number == values["number"])):
        raise ClientNumberTaken("Dit cliëntnummer is al in gebruik.", {"field": "number"})
    client = Client(firm_id=p.firm_id, branch_id=branch_id, number=values["number"], name=values["name"],
                    group_id=_group(session, p, values.get("group_id")))
    _apply(client, values, only_non_empty=True)
    client.search_text = _search_text(client)
    session.add(client)
    session.flush()
    events.emit("client_created", event_data(client))
    return view(client, branches=branch_names(session, [client]))


def update(session, p: Principal, client_id: int, data: dict, events) -> dict:
    client = scope.client(session, p, client_id, for_update=True)  # absent for those who may not see it
    p.require_staff()
    values, errors = normalise(data)
    if "number" in values and values["number"] and values["number"] != client.number:
        if session.scalar(sa.select(Client.id).where(Client.firm_id == client.firm_id,
                                                     Client.number == values["number"])):
            raise ClientNumberTaken("Dit cliëntnummer is al in gebruik.", {"field": "number"})
    for key in ("number", "name"):
        if key in values and not values[key]:
            errors[key] = ["Verplicht."]
    if "branch_id" in values or "branch" in values:
        try:
            client.branch_id = _resolve_branch(session, p, values, client.branch_id)
        except ValueError as exc:
            errors["branch_id"] = [str(exc)]
    if errors:
        raise Invalid("De invoer is ongeldig.", {"fields": errors})
    branch_changed = client in session.dirty
    if "group_id" in values:
        client.group_id = _group(session, p, values["group_id"])
    # A PATCH may clear optional fields on purpose (an explicit null); imports never do.
    changed = _apply(client, values, only_non_empty=False) or branch_changed
    if changed:
        client.updated_at = now()
        session.flush()
        events.emit("client_updated", event_data(client))
    return view(client, branches=branch_names(session, [client]))


class _Branches:
    """The firm's branches read once per import batch: by id, by lower-cased name/display name, the default."""

    def __init__(self, session, p: Principal):
        self.p = p
        self.ids, self.by_name = set(), {}
        for b in session.execute(sa.select(Branch.id, Branch.name, Branch.display_name)
                                 .where(Branch.firm_id == p.firm_id).order_by(Branch.id)):
            self.ids.add(b.id)
            for label in (b.name, b.display_name):
                if label is not None:
                    self.by_name.setdefault(str(label).lower(), b.id)
        self.default = _default_branch(session, p) if self.ids else None

    def resolve(self, values: dict, current: int | None) -> int:
        """Same rules as ``_resolve_branch``, without a query per row."""
        p = self.p
        branch_id = values.get("branch_id")
        name = values.get("branch")
        if branch_id is None and name not in (None, ""):
            branch_id = self.by_name.get(str(name).strip().lower())
            if branch_id is None:
                raise ValueError("Onbekende vestiging.")
        if branch_id is None:
            if current is not None:
                return current
            if p.branch_id is not None:
                return p.branch_id
            branch_id = self.default
            if branch_id is None:
                raise ValueError("Onbekende vestiging.")
        branch_id = int(branch_id)
        if branch_id not in self.ids or not p.sees_branch(branch_id):
            raise ValueError("Onbekende vestiging.")
        return branch_id


_STORED = ("id", "firm_id", "branch_id", "number", "name", "legal_form", "kvk", "bsn_encrypted", "rsin", "vat",
           "street", "house_number", "postcode", "city", "country", "email", "phone", "mobile", "contact",
           "search_text")
_WRITTEN = tuple(k for k in _STORED if k not in ("id", "firm_id", "number")) + ("import_id", "updated_at")


def _search_text_of(values: dict) -> str:
    return " ".join(fold(values[k]) for k in ("name", "number", "kvk") if values.get(k))


def _merge(stored: dict, values: dict) -> bool:
    """``_apply`` on a plain dict (import rules: empty values never erase); returns whether anything changed."""
    changed = False
    for key in FIELDS:
        if key not in values:
            continue
        value = values[key]
        if value is None:
            continue
        if key == "bsn":
            if value != decrypt_bsn(stored.get("bsn_encrypted")):
                stored["bsn_encrypted"] = encrypt_bsn(value)
                changed = True
            continue
        if stored.get(key) != value:
            stored[key] = value
            changed = True
    return changed


def _imported(row: dict) -> dict:
    return {"client_id": row["id"], "branch_id": row["branch_id"], "number": row["number"], "name": row["name"]}


def upsert(session, p: Principal, rows: list[dict], group_id, import_id, events) -> dict:
    """Import rows, idempotent by client number: new ones created (in ``group_id``), known ones updated
    with their non-empty values only; one bad row never stops the others.

    Set-based: the firm's branches are read once, the known clients once (locked), new clients are inserted
    with one INSERT of arrays, changed ones updated with one executemany UPDATE by id, and one
    ``clients_imported`` event carries the batch's created and updated clients."""
    p.require_staff()
    group = _group(session, p, group_id)
    branches = _Branches(session, p)
    table = Client.__table__
    numbers = [str(r.get("number") or "").strip() for r in rows]
    existing = {}
    wanted = sorted({n for n in numbers if n})
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        query = (sa.select(*(table.c[k] for k in _STORED))
                 .where(table.c.firm_id == p.firm_id, table.c.number.in_(chunk))
                 .order_by(table.c.id).with_for_update())
        for r in session.execute(query).mappings():
            existing[r["number"]] = dict(r)
    result = {"created": 0, "updated": 0, "unchanged": 0, "invalid": 0,
              "created_ids": [], "updated_ids": [], "unchanged_ids": [], "ids": {}, "errors": []}
    seen, fresh, changed_rows = set(), [], []
    stamp = now()
    for index, row in enumerate(rows):
        values, errors = normalise(row)
        if row.get("_invalid"):
            errors.update({k if k != "_schema" else "row": v for k, v in row["_invalid"].items()})
        number = values.get("number")
        if not number:
            errors.setdefault("number", ["Verplicht."])
        elif number in seen:
            errors["number"] = ["Dubbel cliëntnummer."]
        stored = existing.get(number) if number else None
        if stored is not None and not p.sees_branch(stored["branch_id"]):
            errors["number"] = ["Dit cliëntnummer is niet beschikbaar."]
        if stored is None and not values.get("name"):
            errors.setdefault("name", ["Verplicht."])
        branch_id = None
        if not errors:
            try:
                branch_id = branches.resolve(values, stored["branch_id"] if stored else None)
            except ValueError as exc:
                errors["branch"] = [str(exc)]
        if errors:
            result["invalid"] += 1
            result["errors"].append({"index": index, "number": number, "fields": errors})
            continue
        seen.add(number)
        if stored is None:
            new = {k: None for k in _STORED if k != "id"}
            new.update(firm_id=p.firm_id, branch_id=branch_id, number=number, name=values["name"])
            _merge(new, values)
            new.update(search_text=_search_text_of(new), group_id=group, import_id=import_id,
                       created_at=stamp, updated_at=stamp)
            fresh.append(new)
        else:
            moved = branch_id != stored["branch_id"]
            stored["branch_id"] = branch_id
            if _merge(stored, values) or moved:
                stored.update(search_text=_search_text_of(stored), import_id=import_id, updated_at=now())
                changed_rows.append(stored)
                result["updated"] += 1
                result["updated_ids"].append(stored["id"])
            else:
                result["unchanged"] += 1
                result["unchanged_ids"].append(stored["id"])
            result["ids"][number] = stored["id"]
    if changed_rows:
        update = (table.update().where(table.c.id == sa.bindparam("_id"))
                  .values({k: sa.bindparam("_" + k) for k in _WRITTEN}))
        session.execute(update, [{"_id": r["id"], **{"_" + k: r[k] for k in _WRITTEN}} for r in changed_rows])
    if fresh:
        # one INSERT of arrays (chassis.db.insert_many); ids matched by number, unique in the firm
        ids = dict(insert_many(session, table, fresh, returning=("number", "id")))
        for new in fresh:
            new_id = new["id"] = ids[new["number"]]
            result["created"] += 1
            result["created_ids"].append(new_id)
            result["ids"][new["number"]] = new_id
    if fresh or changed_rows:
        # One event for the batch, not one per client: an import of 100,000 clients is 100 messages
        # for the consumers (notify's client → branch copy), not 100,000.
        events.emit("clients_imported", {"firm_id": p.firm_id, "import_id": import_id,
                                         "created": [_imported(r) for r in fresh],
                                         "updated": [_imported(r) for r in changed_rows]})
    return result


def ensure_visible(session, p: Principal, client_id: int) -> dict:
    return scope_view(scope.client(session, p, client_id))


__all__ = ["create", "update", "upsert", "get", "search", "by_numbers", "ensure_visible", "NotAllowed"]
