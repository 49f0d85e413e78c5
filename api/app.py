"""The Starlette application: GraphQL (+ GraphiQL), signed rendition URLs and health, over services it is
given (or opens through the composition root's OpenServices, with whatever runs beside it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cross_web import FormData, StarletteRequestAdapter
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from api.auth import AuthError, UnknownKey, key_for_authorization
from api.context import Context
from api.metadata.export_job_schema import JOB_KIND
from api.metadata.export_schema import export_kind
from api.request_limits import (
    MAX_JSON_BYTES,
    MULTIPART_FIELDS,
    RequestRefused,
    capped_receive,
    check_declared_length,
    check_operation,
    decode_request_json,
)
from api.schema import schema
from api.service_ports import ApiServices, OpenServices
from api.tenant_gate import TenantBusy, TenantGate
from api.transfer.blob_responses import blob_response
from api.types import ORIGINAL
from api.web.assets import page
from api.web.graphiql import graphiql_html
from api.web.pages import WebServices, not_found, web_routes
from api.web.session import CSRF_HEADER, SESSION_COOKIE, CsrfError, Sessions
from catalog.domain.ids import is_uuid
from catalog.domain.model import ApiKey
from services.exports import ExportError, ExportFormat
from services.ingest import MAX_FILENAME

log = logging.getLogger(__name__)


class _LimitedRequestAdapter(StarletteRequestAdapter):
    """Multipart parts other than the files are capped like a JSON body (starlette counts while parsing)."""

    async def get_form_data(self) -> FormData:
        form = await self._request.form(
            max_files=MULTIPART_FIELDS, max_fields=MULTIPART_FIELDS, max_part_size=MAX_JSON_BYTES
        )
        return FormData(files=form, form=form)


class _GraphQL(GraphQL[Context, None]):
    request_adapter_class = _LimitedRequestAdapter

    def __init__(self, ref: ServicesRef) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
        self._ref = ref

    def decode_json(self, data: str | bytes) -> object:
        return decode_request_json(data)  # bounded in bytes and values before json.loads

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            check_operation(item.query, item.variables)  # before graphql-core coerces the variables
        return data

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            services=self._ref.get(),
            tenant_id=request.scope["state"]["tenant_id"],
            scopes=request.scope["state"]["scopes"],
            base_url=str(request.base_url).rstrip("/"),
            key_id=request.scope["state"].get("key_id", ""),
        )

    async def render_graphql_ide(self, request: Any) -> Response:
        return page(graphiql_html())  # served from our own files: no CDN, works air-gapped


def _multipart_problem(exc: HTTPException) -> tuple[str, str]:
    """(code, message) for a multipart body starlette refused; a header past python-multipart's limit is
    in practice a file name thousands of characters long."""
    cause: BaseException | None = exc
    while cause is not None:
        if "Maximum header size exceeded" in str(cause):
            return (
                "FILENAME_TOO_LONG",
                f"a part's header is too long (its filename?): filenames may have at most {MAX_FILENAME} "
                "characters; rename the file",
            )
        cause = cause.__cause__ or cause.__context__
    return "BAD_MULTIPART", str(exc.detail)


class AuthenticatedGraphQL:
    """Resolves the API key before strawberry runs; only the GraphiQL page itself is public.

    API clients send `Authorization: Bearer <key>`; the pages send the session cookie, and then every POST
    must carry the session's CSRF token (mutations are never run from a GET)."""

    def __init__(self, ref: ServicesRef) -> None:
        self._ref = ref
        self._graphql = _GraphQL(ref)
        self._gate: TenantGate | None = None  # made on the first request: the services open after start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await Response("websockets are not supported", status_code=400)(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            services = self._ref.get()
            max_upload = max(services.max_upload_bytes, services.max_video_bytes)
            try:
                check_declared_length(dict(request.headers), content_type, max_upload)
            except RequestRefused as exc:
                await exc.response()(scope, receive, send)
                return
            receive = capped_receive(receive, content_type, max_upload)
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_ide and "query" not in request.query_params:
            # The page alone: strawberry still builds a context, for no tenant (an empty ID owns nothing).
            scope.setdefault("state", {}).update(tenant_id="", scopes=())
            await self._graphql(scope, receive, send)
            return
        try:
            key = await self._key(request)
        except AuthError as exc:
            message = str(exc)
            if isinstance(exc, UnknownKey):
                message += self._ref.get().unknown_key_hint
            body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
            await JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})(
                scope, receive, send
            )
            return
        except CsrfError as exc:
            body = {"errors": [{"message": str(exc), "extensions": {"code": "CSRF"}}]}
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        scope.setdefault("state", {}).update(tenant_id=key.tenant_id, scopes=key.scopes, key_id=key.id)
        if self._gate is None:
            self._gate = TenantGate(self._ref.get().tenant_concurrency)
        try:
            async with self._gate.turn(key.tenant_id):
                await self._graphql(scope, receive, send)
        except TenantBusy as exc:
            log.info("request refused: TENANT_BUSY %s", exc)
            body = {"errors": [{"message": str(exc), "extensions": {"code": "TENANT_BUSY"}}]}
            await JSONResponse(body, status_code=429, headers={"Retry-After": "5"})(scope, receive, send)
        except RequestRefused as exc:  # nothing was sent yet: strawberry answers after reading the body
            log.info("request refused: %s %s", exc.code, exc)
            await exc.response()(scope, receive, send)
        except HTTPException as exc:  # starlette's multipart parser: a part or the form past its limits
            code, message = _multipart_problem(exc)
            log.info("request refused: %s %s", code, message)
            body = {"errors": [{"message": message, "extensions": {"code": code}}]}
            await JSONResponse(body, status_code=exc.status_code)(scope, receive, send)

    async def _key(self, request: Request) -> ApiKey:
        services = self._ref.get()
        header, cookie = request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
        if header is not None or not cookie:
            return await key_for_authorization(services.catalog, header)
        sessions = Sessions(services.signer.mac)
        if request.method != "GET":
            sessions.check_csrf(cookie, request.headers.get(CSRF_HEADER))
        return await sessions.key(services.catalog, cookie)


def _signed_tenant(services: ApiServices, request: Request, kind: str) -> str | None:
    """The tenant a signed URL (?t=&e=&s=) was made for, if its signature covers this asset and `kind`
    and has not expired."""
    asset_id = request.path_params["asset_id"]
    tenant_id = request.query_params.get("t", "")
    try:
        expires = int(request.query_params.get("e", "0"))
    except ValueError:
        return None
    signature = request.query_params.get("s", "")
    if not is_uuid(asset_id) or not services.signer.verify(tenant_id, asset_id, kind, expires, signature):
        return None
    return tenant_id


def _rendition_endpoint(ref: ServicesRef) -> Any:
    async def rendition(request: Request) -> Response:
        services = ref.get()
        asset_id, kind = request.path_params["asset_id"], request.path_params["kind"]
        tenant_id = _signed_tenant(services, request, kind)
        if tenant_id is None:
            return JSONResponse(
                {
                    "error": "invalid or expired rendition URL: query the asset's renditions again "
                    "for a fresh one"
                },
                status_code=403,
            )
        asset = await services.catalog.get_asset(tenant_id, asset_id)
        cache = {"Cache-Control": "private, max-age=3600, immutable"}
        if asset is not None and kind == ORIGINAL:
            name = quote(asset.filename, safe="")
            disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
            return await blob_response(
                services.blobs, request, asset.blob_key, asset.media_type, {**cache, **disposition}
            )
        found = next((r for r in asset.renditions if r.kind == kind), None) if asset else None
        if found is None:
            return JSONResponse({"error": "no such rendition"}, status_code=404)
        return await blob_response(services.blobs, request, found.blob_key, found.media_type, cache)

    return rendition


def _export_endpoint(ref: ServicesRef) -> Any:
    async def export(request: Request) -> Response:
        services = ref.get()
        asset_id, fmt = request.path_params["asset_id"], request.path_params["format"]
        chosen = next((f for f in ExportFormat if f.value == fmt), None)
        profile = request.query_params.get("p") or None
        tenant_id = _signed_tenant(services, request, export_kind(fmt, profile or "")) if chosen else None
        if chosen is None or tenant_id is None:
            return JSONResponse(
                {"error": "invalid or expired export URL: ask exportAssets again for a fresh one"},
                status_code=403,
            )
        try:
            made = await services.exports.export(tenant_id, asset_id, chosen, profile)
        except ExportError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404 if exc.code == "NOT_FOUND" else 422)
        disposition = f"attachment; filename*=UTF-8''{quote(made.filename)}"
        return Response(made.data, media_type=made.media_type, headers={"Content-Disposition": disposition})

    return export


def _export_job_endpoint(ref: ServicesRef) -> Any:
    async def result(request: Request) -> Response:
        services = ref.get()
        job_id = request.path_params["asset_id"]
        tenant_id = _signed_tenant(services, request, JOB_KIND)
        if tenant_id is None:
            return JSONResponse(
                {"error": "invalid or expired export URL: ask exportJob again for a fresh one"},
                status_code=403,
            )
        folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="mediasight-download-")
        path = Path(folder) / "export.zip"
        cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
        try:
            await services.export_jobs.result(tenant_id, job_id, path)
        except ExportError as exc:
            await cleanup()
            return JSONResponse({"error": str(exc)}, status_code=404 if exc.code == "NOT_FOUND" else 409)
        # streamed from a file: a zip of image copies may be larger than memory
        return FileResponse(
            path, media_type="application/zip", filename=f"export-{job_id}.zip", background=cleanup
        )

    return result


class ServicesRef:
    """The app's services: given at creation (tests) or opened by the lifespan on the server's loop."""

    def __init__(self, services: ApiServices | None) -> None:
        self.services = services

    def get(self) -> ApiServices:
        if self.services is None:
            raise RuntimeError("the application has not started")
        return self.services


def create_app(
    services: ApiServices | None = None, *, open_services: OpenServices | None = None
) -> Starlette:
    """An app over given services (tests), or over services `open_services` opens when it starts (a server:
    mediasight.processes.serving, which also runs the worker when asked)."""
    if (services is None) == (open_services is None):
        raise ValueError("give services or open_services")
    ref = ServicesRef(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if open_services is None:  # tests pass their own services and keep collecting freely
            yield
            return
        async with open_services() as opened:
            ref.services = opened
            yield

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "pendingJobs": await ref.get().queue.pending()})

    web = WebServices(
        lambda: ref.get().catalog, lambda purpose, payload: ref.get().signer.mac(purpose, payload)
    )
    return Starlette(
        routes=[
            *web_routes(web),
            Route("/healthz", health),
            Route("/renditions/{asset_id}/{kind}", _rendition_endpoint(ref)),
            Route("/exports/{asset_id}/{format}", _export_endpoint(ref)),
            Route("/export-jobs/{asset_id}", _export_job_endpoint(ref)),
            Route("/graphql", AuthenticatedGraphQL(ref)),
        ],
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )
