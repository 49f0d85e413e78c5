"""A static cost limit: each field costs 1, and a field's subtree costs `first` times over.

Depth, alias and token limits bound the document; this bounds the work: `search(first: 100)` with 40 fields
per node costs ~5,000, while nesting pages of pages (versionTree → children → similarAssets) multiplies.
Fields that run a query of their own each time they appear (a search with its exact total and facets, a
report folding a whole batch) weigh more than one: thirty aliased `search { totalCount }` are thirty index
queries, not thirty fields.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

DEFAULT_PAGE = 20  # what `first` means when a field takes it and the query leaves it out
PAGED = {"search", "similarAssets", "changes"}
QUERY_WEIGHTS = {  # per occurrence, on top of the field's 1 (≈ how many cheap fields its query is worth)
    "search": 1000,
    "modelChangeReport": 1000,
    "batchReport": 500,
    "faceMatches": 200,
    "similarAssets": 100,
    "changes": 100,
    "exportAssets": 200,
    "exportCsv": 200,
    "startExport": 200,
    # a concept's scoring reads every feature vector of the tenant
    "suggestions": 2000,
    "uncertain": 2000,
}


def _first(field: FieldNode, variables: dict[str, Any]) -> int:
    for arg in field.arguments or ():
        if arg.name.value == "first":
            if isinstance(arg.value, IntValueNode):
                return max(1, int(arg.value.value))
            if isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value)
                return max(1, int(value)) if isinstance(value, int) else DEFAULT_PAGE
    return DEFAULT_PAGE if field.name.value in PAGED else 1


def _cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    seen: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            own = 1 + QUERY_WEIGHTS.get(node.name.value, 0)
            total += own + _first(node, variables) * _cost(node.selection_set, fragments, variables, seen)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, fragments, variables, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                total += _cost(fragment.selection_set, fragments, variables, seen | {node.name.value})
    return total


def cost_errors(
    document: DocumentNode, variables: dict[str, Any] | None, max_cost: int
) -> list[GraphQLError]:
    """The cost limit, per request: it depends on the variables (`first: $n`), unlike the cached rules."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    errors = []
    for op in document.definitions:
        if isinstance(op, OperationDefinitionNode):
            cost = _cost(op.selection_set, fragments, variables or {}, frozenset())
            if cost > max_cost:
                errors.append(
                    GraphQLError(
                        f"query cost {cost} exceeds the limit of {max_cost}: ask for fewer fields or "
                        "smaller pages (`first`), and page with `after`",
                        extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )
    return errors
