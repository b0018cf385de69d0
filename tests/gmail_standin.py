"""A protocol-faithful local stand-in of the Gmail REST API, for tests and the bench.

It serves, on 127.0.0.1 and a free port, what weakties' Gmail connector and
Google's client libraries talk to, behaving as Gmail does under the
``gmail.metadata`` scope:

* ``users.getProfile``, ``users.labels.list``;
* ``users.messages.list`` with ``maxResults``/``pageToken`` paging (keyset
  tokens, stable while mail arrives), newest first, spam and trash left out
  unless ``includeSpamTrash``; a ``q`` is refused with 403;
* ``users.messages.get`` with ``format=metadata`` and ``metadataHeaders``
  (matched case-insensitively), ``format=minimal``; ``full``/``raw`` (also
  the default) are refused with 403;
* ``users.history.list`` (``startHistoryId``, ``historyTypes``, paging, 404
  for a startHistoryId older than the oldest kept record);
* the batch endpoint ``POST /batch/gmail/v1`` (and ``/batch``): a
  ``multipart/mixed`` body of ``application/http`` parts, answered with a
  ``multipart/mixed`` body whose parts carry ``Content-ID: <response-ID>``;
  at most 100 parts;
* the OAuth endpoints: ``/o/oauth2/auth`` (redirects at once with a code, as
  if the user clicked Allow) and ``/token`` (authorization_code and
  refresh_token grants; ``invalid_grant`` for a revoked refresh token);
* bearer tokens are checked on every request and every batch part (401);
* Google's JSON error bodies, and injectable faults (429 with Retry-After,
  500, rate-limit 403) for single requests, whole batches or batch parts.

Every API call (batch parts included) is logged with its method, path and
query, so tests can assert that no body format was ever asked for.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
SYSTEM_LABELS = [
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
    "CHAT",
]
_HTTP_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def google_error(
    code: int, message: str, reason: str, status: str, domain: str = "global"
) -> dict[str, Any]:
    """Google's JSON error body."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status,
        }
    }


NOT_FOUND = (404, google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND"))
UNAUTHENTICATED = (
    401,
    google_error(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        "authError",
        "UNAUTHENTICATED",
    ),
)


@dataclass
class Message:
    id: str
    thread_id: str
    labels: list[str]
    internal_date: int  # ms since the epoch
    headers: list[tuple[str, str]]
    history_id: int


@dataclass
class Fault:
    status: int  # 429, 500, 503 or 403 (rate limit)
    where: str  # "single", "batch" (the whole batch request), "part" or "any"
    retry_after: str | None = None
    reason: str | None = None  # for a 403: default userRateLimitExceeded


@dataclass
class Response:
    status: int
    body: Any  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)


def parse_headers(raw: str) -> list[tuple[str, str]]:
    """'Name: value' lines (folded lines joined) -> [(name, value)]."""
    parsed = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(raw)
    return [(name, " ".join(str(value).split())) for name, value in parsed.items()]


class GmailStandin:
    """The fake mailbox and its HTTP server. Use as a context manager."""

    def __init__(self, email_address: str = "me@example.com", *, latency: float = 0.0) -> None:
        self.email = email_address
        self.latency = latency  # seconds added to every HTTP request
        self.lock = threading.RLock()
        self.messages: dict[str, Message] = {}
        self.order: list[str] = []  # in delivery order
        self.history: list[dict[str, Any]] = []  # records, ascending id
        self.history_id = 1000
        self.oldest_history = 1000  # a startHistoryId below this answers 404
        self._ids = itertools.count(0x18C0000000000000)
        # OAuth
        self.clients: dict[str, str] = {}  # client_id -> client_secret
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client_id
        self.access_tokens: set[str] = set()
        self.codes: dict[str, str] = {}  # authorization code -> client_id
        self.token_requests = 0
        # Observation and faults
        self.faults: deque[Fault] = deque()
        self.calls: list[dict[str, Any]] = []  # every API call: method, path, query, part
        self.http_requests = 0
        self.max_batch_parts = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def __enter__(self) -> GmailStandin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- OAuth setup ---

    def new_client(self) -> dict[str, Any]:
        """Register an OAuth desktop client; returns its client-secrets JSON."""
        client_id = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
        secret = secrets.token_urlsafe(12)
        self.clients[client_id] = secret
        return {
            "installed": {
                "client_id": client_id,
                "client_secret": secret,
                "project_id": "weakties-test",
                "auth_uri": f"{self.url}/o/oauth2/auth",
                "token_uri": self.token_uri,
                "redirect_uris": ["http://localhost"],
            }
        }

    def authorized_user(self, *, with_access_token: bool = False) -> dict[str, Any]:
        """Authorized-user JSON for a fresh client, as ``weakties auth`` stores it."""
        client = self.new_client()["installed"]
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = client["client_id"]
        info: dict[str, Any] = {
            "refresh_token": refresh,
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "token_uri": self.token_uri,
            "scopes": [SCOPE],
        }
        if with_access_token:
            info["token"] = self._new_access_token()
            info["expiry"] = "2999-01-01T00:00:00Z"
        return info

    def _new_access_token(self) -> str:
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens.add(token)
        return token

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token and the access tokens (as a user would in their account)."""
        self.refresh_tokens.pop(refresh_token, None)
        self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    # --- mailbox setup ---

    def add(
        self,
        headers: str | list[tuple[str, str]],
        labels: list[str] | None = None,
        internal_date: datetime | None = None,
    ) -> str:
        """Deliver a message (its header block, or header pairs); returns its id."""
        pairs = parse_headers(headers) if isinstance(headers, str) else list(headers)
        with self.lock:
            message_id = format(next(self._ids), "x")
            at = internal_date or datetime.now(UTC)
            self.history_id += 1
            message = Message(
                message_id,
                message_id,
                list(labels or ["INBOX"]),
                int(at.timestamp() * 1000),
                pairs,
                self.history_id,
            )
            self.messages[message_id] = message
            self.order.append(message_id)
            self.history.append(
                {"id": self.history_id, "type": "messageAdded", "message": message_id}
            )
            return message_id

    def add_many(self, items: list[tuple[str, list[str], datetime]]) -> list[str]:
        return [self.add(h, labels, at) for h, labels, at in items]

    def delete(self, message_id: str) -> None:
        with self.lock:
            self.messages.pop(message_id)
            self.order.remove(message_id)
            self.history_id += 1
            self.history.append(
                {"id": self.history_id, "type": "messageDeleted", "message": message_id}
            )

    def relabel(self, message_id: str, add: list[str]) -> None:
        with self.lock:
            self.messages[message_id].labels += add
            self.history_id += 1
            self.history.append(
                {"id": self.history_id, "type": "labelAdded", "message": message_id, "labels": add}
            )

    def expire_history(self) -> None:
        """Forget all history so far: older startHistoryIds now answer 404."""
        with self.lock:
            self.history_id += 1
            self.oldest_history = self.history_id
            self.history = [r for r in self.history if r["id"] >= self.oldest_history]

    def fail(
        self,
        count: int,
        status: int = 429,
        where: str = "any",
        retry_after: str | None = "1",
        reason: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``."""
        for _ in range(count):
            self.faults.append(Fault(status, where, retry_after, reason))

    # --- observation ---

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == method]

    def reset_counters(self) -> None:
        with self.lock:
            self.calls.clear()
            self.http_requests = 0
            self.token_requests = 0

    # --- dispatch ---

    def _take_fault(self, where: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.where in (where, "any"):
                    self.faults.remove(fault)
                    return fault
        return None

    def fault_response(self, fault: Fault) -> Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.status == 429:
            body = google_error(
                429,
                "Too many concurrent requests for user.",
                "rateLimitExceeded",
                "RESOURCE_EXHAUSTED",
            )
        elif fault.status == 403 and fault.reason == "domainPolicy":
            body = google_error(
                403,
                "The domain administrators have disabled Gmail apps.",
                "domainPolicy",
                "PERMISSION_DENIED",
            )
        elif fault.status == 403:
            body = google_error(
                403,
                "User-rate limit exceeded.",
                "userRateLimitExceeded",
                "PERMISSION_DENIED",
                domain="usageLimits",
            )
        else:
            body = google_error(
                fault.status,
                "Internal error encountered.",
                "backendError",
                "INTERNAL" if fault.status == 500 else "UNAVAILABLE",
            )
        return Response(fault.status, body, headers)

    def api(self, verb: str, target: str, headers: dict[str, str], *, part: bool) -> Response:
        """One Gmail API call (a whole request, or one part of a batch)."""
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        path = split.path
        auth = headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:] in self.access_tokens):
            self._log("unauthenticated", path, query, part)
            return Response(*UNAUTHENTICATED)
        prefix = "/gmail/v1/users/"
        if not path.startswith(prefix):
            return Response(*NOT_FOUND)
        user, _, rest = path[len(prefix) :].partition("/")
        if user not in ("me", self.email):
            return Response(
                403,
                google_error(
                    403, "Delegation denied for " + self.email, "forbidden", "PERMISSION_DENIED"
                ),
            )
        routes = {
            ("GET", "profile"): ("getProfile", self._profile),
            ("GET", "labels"): ("labels.list", self._labels),
            ("GET", "messages"): ("messages.list", self._list),
            ("GET", "history"): ("history.list", self._history),
        }
        if (verb, rest) in routes:
            method, handler = routes[(verb, rest)]
        elif verb == "GET" and rest.startswith("messages/") and rest.count("/") == 1:
            method, handler = "messages.get", self._get
        else:
            return Response(*NOT_FOUND)
        self._log(method, path, query, part)
        fault = self._take_fault("part" if part else "single")
        if fault is not None:
            return self.fault_response(fault)
        with self.lock:
            return handler(query, rest)

    def _log(self, method: str, path: str, query: dict[str, list[str]], part: bool) -> None:
        with self.lock:
            self.calls.append({"method": method, "path": path, "query": query, "part": part})

    @staticmethod
    def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
        return query.get(name, [default])[0]

    def _profile(self, query: dict[str, list[str]], rest: str) -> Response:
        return Response(
            200,
            {
                "emailAddress": self.email,
                "messagesTotal": len(self.messages),
                "threadsTotal": len(self.messages),
                "historyId": str(self.history_id),
            },
        )

    def _labels(self, query: dict[str, list[str]], rest: str) -> Response:
        return Response(
            200,
            {"labels": [{"id": name, "name": name, "type": "system"} for name in SYSTEM_LABELS]},
        )

    def _page_size(self, query: dict[str, list[str]], default: int) -> int | Response:
        raw = self._one(query, "maxResults", str(default)) or str(default)
        if not raw.isdigit():
            return Response(
                400,
                google_error(400, "Invalid value for maxResults", "invalid", "INVALID_ARGUMENT"),
            )
        return max(1, min(int(raw), 500))

    def _list(self, query: dict[str, list[str]], rest: str) -> Response:
        if self._one(query, "q"):
            return Response(
                403,
                google_error(
                    403,
                    "Metadata scope does not support 'q' parameter",
                    "forbidden",
                    "PERMISSION_DENIED",
                ),
            )
        size = self._page_size(query, 100)
        if isinstance(size, Response):
            return size
        include = (self._one(query, "includeSpamTrash", "false") or "").lower() == "true"
        wanted = set(query.get("labelIds", []))
        ids = [
            i
            for i in self.order
            if (include or not {"SPAM", "TRASH"} & set(self.messages[i].labels))
            and wanted <= set(self.messages[i].labels)
        ]
        token = self._one(query, "pageToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
                ms, last = after.split(":")
                key = (int(ms), last)
            except ValueError:
                return Response(
                    400,
                    google_error(400, "Invalid pageToken", "invalidArgument", "INVALID_ARGUMENT"),
                )
            ids = [i for i in ids if (self.messages[i].internal_date, i) < key]
        ids.sort(key=lambda i: (self.messages[i].internal_date, i), reverse=True)
        page = ids[:size]
        body: dict[str, Any] = {"resultSizeEstimate": len(page)}
        if page:
            body["messages"] = [{"id": i, "threadId": self.messages[i].thread_id} for i in page]
        if len(ids) > size:
            last = self.messages[page[-1]]
            body["nextPageToken"] = base64.urlsafe_b64encode(
                f"{last.internal_date}:{last.id}".encode()
            ).decode()
        return Response(200, body)

    def _get(self, query: dict[str, list[str]], rest: str) -> Response:
        message_id = rest.split("/", 1)[1]
        fmt = (self._one(query, "format", "full") or "full").lower()
        if fmt in ("full", "raw"):
            return Response(
                403,
                google_error(
                    403,
                    f"Metadata scope doesn't allow format {fmt.upper()}",
                    "forbidden",
                    "PERMISSION_DENIED",
                ),
            )
        message = self.messages.get(message_id)
        if message is None:
            return Response(*NOT_FOUND)
        body: dict[str, Any] = {
            "id": message.id,
            "threadId": message.thread_id,
            "labelIds": list(message.labels),
            "historyId": str(message.history_id),
            "internalDate": str(message.internal_date),
            "sizeEstimate": 1024,
        }
        if fmt == "metadata":
            names = {n.lower() for n in query.get("metadataHeaders", [])}
            headers = [
                {"name": n, "value": v}
                for n, v in message.headers
                if not names or n.lower() in names
            ]
            body["payload"] = {
                "partId": "",
                "mimeType": "text/plain",
                "filename": "",
                "headers": headers,
                "body": {"size": 0},
            }
        return Response(200, body)

    def _history(self, query: dict[str, list[str]], rest: str) -> Response:
        start_raw = self._one(query, "startHistoryId")
        if not start_raw or not start_raw.isdigit():
            return Response(
                400,
                google_error(400, "Invalid startHistoryId", "invalidArgument", "INVALID_ARGUMENT"),
            )
        start = int(start_raw)
        if start < self.oldest_history:
            return Response(*NOT_FOUND)
        size = self._page_size(query, 100)
        if isinstance(size, Response):
            return size
        token = self._one(query, "pageToken")
        after = int(token) if token and token.isdigit() else start
        types = set(query.get("historyTypes", []))
        records = [r for r in self.history if r["id"] > after]
        page, more = records[:size], len(records) > size
        out = []
        for record in page:
            message = self.messages.get(record["message"])
            ref = {"id": record["message"], "threadId": record["message"]}
            if message is not None:
                ref["labelIds"] = list(message.labels)
            entry: dict[str, Any] = {"id": str(record["id"]), "messages": [ref]}
            if record["type"] == "messageAdded" and (not types or "messageAdded" in types):
                entry["messagesAdded"] = [{"message": ref}]
            elif record["type"] == "messageDeleted" and (not types or "messageDeleted" in types):
                entry["messagesDeleted"] = [{"message": ref}]
            elif record["type"] == "labelAdded" and (not types or "labelAdded" in types):
                entry["labelsAdded"] = [{"message": ref, "labelIds": record["labels"]}]
            else:
                continue
            out.append(entry)
        body: dict[str, Any] = {"historyId": str(self.history_id)}
        if out:
            body["history"] = out
        if more:
            body["nextPageToken"] = str(page[-1]["id"])
        return Response(200, body)

    # --- batch ---

    def batch(self, content_type: str, body: bytes, outer_headers: dict[str, str]) -> Response:
        fault = self._take_fault("batch")
        if fault is not None:
            return self.fault_response(fault)
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        mime = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
        if not mime.is_multipart():
            return Response(
                400,
                google_error(
                    400, "Batch request is not multipart/mixed", "badRequest", "INVALID_ARGUMENT"
                ),
            )
        parts = mime.get_payload()
        assert isinstance(parts, list)
        if len(parts) > 100:
            return Response(
                400,
                google_error(
                    400, "Too many requests in batch (max 100)", "badRequest", "INVALID_ARGUMENT"
                ),
            )
        with self.lock:
            self.max_batch_parts = max(self.max_batch_parts, len(parts))
        boundary = "batch_" + uuid.uuid4().hex
        out: list[str] = []
        for part in parts:
            if part.get_content_type() != "application/http":
                return Response(
                    400,
                    google_error(
                        400, "Batch part is not application/http", "badRequest", "INVALID_ARGUMENT"
                    ),
                )
            content_id = part.get("Content-ID", "")
            payload = part.get_payload()
            assert isinstance(payload, str)
            request_line, _, rest = payload.replace("\r\n", "\n").partition("\n")
            verb, target, _version = request_line.split(" ", 2)
            head = rest.split("\n\n", 1)[0]
            inner = {k.lower(): v for k, v in parse_headers(head)}
            answer = self.api(verb, target, inner, part=True)
            text = json.dumps(answer.body)
            lines = [
                f"HTTP/1.1 {answer.status} {_HTTP_REASONS.get(answer.status, 'Error')}",
                "Content-Type: application/json; charset=UTF-8",
                *(f"{k}: {v}" for k, v in answer.headers.items()),
                f"Content-Length: {len(text.encode())}",
                "",
                text,
            ]
            cid = content_id.strip()
            if cid.startswith("<") and cid.endswith(">"):
                cid = cid[1:-1]
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{cid}>\r\n\r\n" + "\r\n".join(lines) + "\r\n"
            )
        text = "".join(out) + f"--{boundary}--\r\n"
        return Response(
            200, text.encode(), {"Content-Type": f"multipart/mixed; boundary={boundary}"}
        )

    # --- OAuth ---

    def authorize(self, query: dict[str, list[str]]) -> Response:
        client_id = self._one(query, "client_id") or ""
        redirect = self._one(query, "redirect_uri") or ""
        scope = self._one(query, "scope") or ""
        if client_id not in self.clients or not redirect.startswith("http://localhost"):
            return Response(400, {"error": "invalid_request"})
        if scope.split() != [SCOPE]:
            return Response(400, {"error": "invalid_scope", "scope_asked": scope})
        code = secrets.token_urlsafe(12)
        self.codes[code] = client_id
        params = {"code": code, "scope": scope, "state": self._one(query, "state") or ""}
        return Response(302, b"", {"Location": f"{redirect}?{urlencode(params)}"})

    def token(self, form: dict[str, list[str]], headers: dict[str, str]) -> Response:
        with self.lock:
            self.token_requests += 1
            client_id = self._one(form, "client_id") or ""
            client_secret = self._one(form, "client_secret") or ""
            auth = headers.get("authorization", "")
            if auth.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            if self.clients.get(client_id) != client_secret:
                return Response(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "The OAuth client was not found.",
                    },
                )
            grant = self._one(form, "grant_type")
            body: dict[str, Any] = {
                "access_token": self._new_access_token(),
                "expires_in": 3599,
                "scope": SCOPE,
                "token_type": "Bearer",
            }
            if grant == "refresh_token":
                if self.refresh_tokens.get(self._one(form, "refresh_token") or "") != client_id:
                    return Response(
                        400,
                        {
                            "error": "invalid_grant",
                            "error_description": "Token has been expired or revoked.",
                        },
                    )
            elif grant == "authorization_code":
                if self.codes.pop(self._one(form, "code") or "", None) != client_id:
                    return Response(
                        400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
                    )
                refresh = secrets.token_urlsafe(24)
                self.refresh_tokens[refresh] = client_id
                body["refresh_token"] = refresh
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            return Response(200, body)


class _Handler(BaseHTTPRequestHandler):
    standin: GmailStandin
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer at once, as Google's servers do

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        if isinstance(response.body, bytes):
            data = response.body
            ctype = response.headers.get("Content-Type", "text/plain")
        else:
            data = json.dumps(response.body).encode()
            ctype = "application/json; charset=UTF-8"
        self.send_response(response.status)
        self.send_header("Content-Type", ctype)
        for key, value in response.headers.items():
            if key != "Content-Type":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _count(self) -> None:
        standin = self.standin
        with standin.lock:
            standin.http_requests += 1
        if standin.latency:
            time.sleep(standin.latency)

    def do_GET(self) -> None:
        self._count()
        split = urlsplit(self.path)
        if split.path == "/o/oauth2/auth":
            self._send(self.standin.authorize(parse_qs(split.query)))
            return
        self._send(self.standin.api("GET", self.path, self._headers(), part=False))

    def do_POST(self) -> None:
        self._count()
        body = self._body()
        path = urlsplit(self.path).path
        if path == "/token":
            form = parse_qs(body.decode())
            self._send(self.standin.token(form, self._headers()))
        elif path in ("/batch/gmail/v1", "/batch"):
            headers = self._headers()
            auth = headers.get("authorization", "")
            if not (auth.startswith("Bearer ") and auth[7:] in self.standin.access_tokens):
                self._send(Response(*UNAUTHENTICATED))
                return
            self._send(self.standin.batch(headers.get("content-type", ""), body, headers))
        else:
            self._send(self.standin.api("POST", self.path, self._headers(), part=False))
