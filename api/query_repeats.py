"""Repeated selections, refused before validation; validation's own aborts reworded to name a limit.

graphql-core's OverlappingFieldsCanBeMerged compares every pair of selections with the same response name:
900 copies of one field fit in 1,000 tokens and cost ~100 ms of event loop (more, and the check
recurses until Python's limit, answering a bare "Validation aborted."). A legitimate query selects a
field once per selection set; aliases (capped elsewhere) name the deliberate copies. So repeats of a
response name, or of a fragment spread, within one selection set are counted over the document first.
"""

from __future__ import annotations

from collections import Counter

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    Node,
    SelectionSetNode,
)

MAX_REPEATS = 50  # selections naming a field (or fragment) already selected in the same set, per request
MAX_VALIDATION_ERRORS = 100  # graphql-core stops validating after this many errors


def _sets(node: Node) -> list[SelectionSetNode]:
    """Every selection set in the document (iteratively: documents are bounded, nesting need not be)."""
    found: list[SelectionSetNode] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, SelectionSetNode):
            found.append(current)
            stack.extend(current.selections)
            continue
        selection_set = getattr(current, "selection_set", None)
        if selection_set is not None:
            stack.append(selection_set)
        stack.extend(getattr(current, "definitions", ()) or ())
    return found


def repeat_errors(document: DocumentNode) -> list[GraphQLError]:
    repeats: Counter[str] = Counter()
    for selection_set in _sets(document):
        names: Counter[str] = Counter()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, FragmentSpreadNode):
                names["..." + selection.name.value] += 1
        for name, count in names.items():
            if count > 1:
                repeats[name] += count - 1
    total = sum(repeats.values())
    if total <= MAX_REPEATS:
        return []
    name, count = repeats.most_common(1)[0]
    return [
        GraphQLError(
            f"`{name}` is selected {count + 1:,} times in one selection set ({total:,} repeated selections "
            f"in the request, at most {MAX_REPEATS}): select each field once, or use aliases",
            extensions={"code": "TOO_MANY_REPEATS"},
        )
    ]


def named_limits(errors: list[GraphQLError]) -> list[GraphQLError]:
    """graphql-core's bare aborts, said with the limit that stopped them and what to do."""
    out = []
    for error in errors:
        if error.message == "Validation aborted.":
            error = GraphQLError(
                "the query is nested too deeply to validate (fragments within fragments, or the same "
                "fields over and over): flatten it and select each field once",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            )
        elif error.message.startswith("Too many validation errors"):
            error = GraphQLError(
                f"validation stopped after {MAX_VALIDATION_ERRORS} errors: fix the errors above and send the "
                "query again",
                extensions={"code": "TOO_MANY_ERRORS"},
            )
        out.append(error)
    return out
