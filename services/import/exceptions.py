"""importer's domain errors (mapped to HTTP in gateway/routes/importer.py)."""
from chassis.errors import BadRequest, Conflict, Invalid, NotFound, TooLarge


class FileTooLarge(TooLarge):
    code = "file_too_large"


class UnsupportedFile(BadRequest):
    """Not an .xlsx or .csv, or the contents do not match the extension."""
    status = 415
    code = "unsupported_file"


class HostileFile(BadRequest):
    """A zip bomb, too many zip members, hostile XML, a NUL byte in a CSV."""
    status = 422
    code = "hostile_file"


class UnreadableFile(Invalid):
    code = "unreadable_file"


class MissingColumns(Invalid):
    code = "missing_columns"


class ImportNotFound(NotFound):
    code = "import_not_found"


class BranchNotFound(NotFound):
    code = "branch_not_found"


class ImportNotReady(Conflict):
    code = "import_not_ready"


class RowsNotCommittable(Invalid):
    """A choice of rows holding invalid or unknown row numbers, or none at all."""
    code = "rows_not_committable"


class UnknownGroup(Invalid):
    code = "unknown_group"
