"""The API's query limits, with each distinct query text parsed and validated once.

Parsing and validating a search document costs several milliseconds — more than the search itself on the
embedded index — and clients send the same few documents again and again with other variables. So the
document and its validation errors (standard rules + depth + aliases) are cached per query text in small
LRUs; the token limit applies when a text is first parsed; the cost limit depends on the variables
(`first: $n`) and is checked on every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_limit
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit
from strawberry.schema.schema import validate_document

from api.query_cost import cost_errors
from api.query_repeats import named_limits, repeat_errors

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = (
    1000  # 5x the largest query of our pages or GraphiQL (introspection: 183); parse cost grows with it
)
MAX_QUERY_COST = 10_000
CACHED_QUERIES = 256  # distinct query texts kept (a client sends few; bounded against floods)

_LIMIT_RULES = (depth_limit(MAX_DEPTH, None), alias_limit(MAX_ALIASES))

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


_documents: _Lru[str, DocumentNode] = _Lru(CACHED_QUERIES)
_validated: _Lru[str, list[GraphQLError]] = _Lru(CACHED_QUERIES)


class QueryLimits(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = MAX_TOKENS
        cached = _documents.get(ctx.query) if ctx.query and ctx.graphql_document is None else None
        if cached is not None:
            ctx.graphql_document = cached  # strawberry parses only when no document is set
        yield
        if cached is None and ctx.query and ctx.graphql_document is not None:
            _documents.put(ctx.query, ctx.graphql_document)

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            key = ctx.query or ""
            errors = _validated.get(key) if key else None
            if errors is None:
                # repeats first: the standard rules are quadratic in them
                errors = repeat_errors(document) or named_limits(
                    validate_document(ctx.schema._schema, document, (*ctx.validation_rules, *_LIMIT_RULES))
                )
                if key:
                    _validated.put(key, errors)
            # Setting the errors (even none) tells strawberry that validation has run.
            ctx.pre_execution_errors = [*errors, *cost_errors(document, ctx.variables, MAX_QUERY_COST)]
        yield
