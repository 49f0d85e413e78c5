"""How GraphQL errors reach the log: a client's mistake is one INFO line with its code; a server fault is
an ERROR with its traceback.

strawberry logs every error at ERROR with the traceback of whatever raised it, so anyone with a key could
fill the log with refused queries (and pay the server a formatted traceback each time). A client error is
one the request caused and its answer explains: parse, validation and variable errors (no original
exception), and GraphQLErrors our resolvers raise on purpose (bad cursors, filters, permissions).
"""

from __future__ import annotations

import logging
import uuid

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

log = logging.getLogger("mediasight.api")

MESSAGE_CHARS = 300  # a log line, not the client's whole query echoed back
REFERENCE = "reference"  # extensions key: which server log line a masked error is


def is_client_error(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return "INVALID_QUERY" if error.original_error is None else "BAD_REQUEST"


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = (execution_context.operation_name if execution_context else None) or "-"
        for error in errors:
            if is_client_error(error):
                message = " ".join(error.message.split())[:MESSAGE_CHARS]
                log.info("client error %s (operation %s): %s", error_code(error), operation, message)
            else:
                reference = uuid.uuid4().hex[:12]
                error.extensions = {**(error.extensions or {}), REFERENCE: reference}
                log.error(
                    "server error %s (operation %s, path %s): %s",
                    reference,
                    operation,
                    ".".join(str(p) for p in error.path or ()),
                    error.message,
                    exc_info=error.original_error,
                )


class MaskServerErrors(MaskErrors):
    """A server fault's message (paths, SQL, a provider's words) stays in the log; the client gets the
    reference of the log line instead. Client errors pass as they are."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_client_error(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        reference = (error.extensions or {}).get(REFERENCE, "")
        masked = super().anonymise_error(error)
        masked.message = (
            f"the server failed on this request (reference {reference}): try again; if it keeps failing, "
            "give the reference to the server's operator (it is in the server log)"
        )
        masked.extensions = {"code": "INTERNAL", REFERENCE: reference}
        return masked
