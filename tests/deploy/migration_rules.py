"""The expand/contract rule of docs/deploy.md §5, read from a migration's source.

During a rolling upgrade the previous release's pods keep serving against the migrated schema, so an
``upgrade()`` may only expand it: add tables, nullable columns or columns with a server default, indexes.
Dropping or renaming a table or column, changing a column, or adding a NOT NULL column without a default
breaks the old pods; that belongs in a later release, in a migration that says so with a module-level
``CONTRACT = "<why no running release uses the old shape>"``.
"""
import ast
import re

FORBIDDEN = {"drop_column": "drops a column", "drop_table": "drops a table", "alter_column": "changes a column",
             "rename_table": "renames a table"}
_RAW_CONTRACT = re.compile(r"(?is)\b(drop\s+(table|column)|rename\s+(to|column)|alter\s+column)\b")


def _upgrade(tree: ast.Module) -> ast.FunctionDef | None:
    return next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"), None)


def _declares_contract(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CONTRACT" for t in node.targets):
            return isinstance(node.value, ast.Constant) and bool(str(node.value.value).strip())
    return False


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _not_null_without_default(column: ast.AST) -> bool:
    if not (isinstance(column, ast.Call) and getattr(column.func, "attr", getattr(column.func, "id", "")) == "Column"):
        return False
    nullable = _keyword(column, "nullable")
    primary = _keyword(column, "primary_key")
    return (isinstance(nullable, ast.Constant) and nullable.value is False and _keyword(column, "server_default") is None
            and not (isinstance(primary, ast.Constant) and primary.value is True))


def problems(source: str, where: str = "migration") -> list[str]:
    tree = ast.parse(source)
    upgrade = _upgrade(tree)
    if upgrade is None or _declares_contract(tree):
        return []
    found = []
    for node in ast.walk(upgrade):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if name in FORBIDDEN:
            found.append(f"{where}: upgrade() {FORBIDDEN[name]} (line {node.lineno})")
        elif name == "add_column" and any(_not_null_without_default(arg) for arg in node.args):
            found.append(f"{where}: upgrade() adds a NOT NULL column without a server default (line {node.lineno})")
        elif name == "execute":
            for arg in node.args:
                text = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else (
                    arg.args[0].value if isinstance(arg, ast.Call) and arg.args and isinstance(arg.args[0], ast.Constant)
                    and isinstance(arg.args[0].value, str) else "")
                if _RAW_CONTRACT.search(text):
                    found.append(f"{where}: upgrade() runs SQL that drops, renames or alters (line {node.lineno})")
    return found
