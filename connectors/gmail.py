"""The Gmail API connector: metadata-scope OAuth, batched full sync, history sync.

* Asks for one scope, ``gmail.metadata`` (headers and labels, never bodies),
  and only ever requests ``format=metadata`` with the header fields the rules
  read.
* Full sync: ``users.messages.list`` page by page (no ``q``: the metadata
  scope forbids it), then ``users.messages.get`` for each id, 50 to a batch
  request. Labels give the role: DRAFT, SPAM and TRASH never count; SENT
  marks mail from the user. ``internalDate`` is the server time.
* Incremental sync: ``users.history.list`` (``messageAdded``) from the saved
  ``historyId``; only added messages are fetched. A 404 for a too-old
  ``historyId`` falls back to a full sync (the store's dedupe keys keep that
  from counting anything twice).
* State lives in one scope, ``"history"``:

  - ``{"history_id": H}``: in step; the next pass reads history after H.
  - ``{"full": {"start_history_id": H0, "page_token": T, "done": n}}``: a
    full sync under way. H0 was the mailbox's historyId when it started; the
    next pass re-lists page T, skips its first n ids (already stored) and goes
    on. After the last page the state becomes ``{"history_id": H0}``, so mail
    that arrived during the full sync is picked up from history.

  Every batch carries the cursor that is true once its records are stored,
  so a pass that dies keeps what was stored and resumes after it.
* Quota: every request spends its method's units from a token bucket
  (``quota_per_minute``) before it is sent; units and requests are counted
  per pass and logged. 429s, rate-limit 403s and 5xx are retried with
  exponential backoff and jitter, honouring Retry-After, for single requests
  and for the failed parts of a batch (googleapiclient retries only 401s in a
  batch). A part answered 404 (deleted meanwhile) is skipped.
* OAuth: credentials are authorized-user JSON. Their ``token_uri`` is honoured
  (google-auth's ``from_authorized_user_info`` would drop it), refreshed
  tokens are handed back to the caller to persist, and a revoked refresh
  token is an :class:`AuthError` saying to authorize again.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from connectors.base import (
    HEADER_FIELDS,
    AuthError,
    Batch,
    ConnectError,
    ConnectorError,
    FolderRole,
    HeaderRecord,
    SyncState,
    timeout_seconds,
)
from connectors.gmail_settings import DEFAULT_ENDPOINT, SCOPE, GmailSettings, check_endpoint
from connectors.pacing import Backoff, Sleep, TokenBucket, parse_retry_after

__all__ = [
    "DEFAULT_ENDPOINT",
    "SCOPE",
    "GmailConnector",
    "GmailSettings",
    "check_endpoint",
    "connect",
]

log = logging.getLogger("weakties.connectors.gmail")

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
STATE_SCOPE = "history"
BATCH_SIZE = 50  # Google advises against batches larger than 50
LIST_PAGE = 500  # the largest page messages.list and history.list return

#: Quota units per call (Gmail API usage limits, per-method table).
UNITS: dict[str, int] = {
    "getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
}

# Drafts, spam and trash win over sent, as in the IMAP connector.
_LABEL_ROLES = (
    ("DRAFT", FolderRole.DRAFTS),
    ("SPAM", FolderRole.JUNK),
    ("TRASH", FolderRole.TRASH),
    ("SENT", FolderRole.SENT),
)
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
_WANTED = {f.lower() for f in HEADER_FIELDS}


# --- credentials ------------------------------------------------------------


def credentials_from_json(text: str) -> Credentials:
    """Authorized-user JSON -> Credentials, keeping the JSON's ``token_uri``."""
    try:
        info = json.loads(text)
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
        missing = {"refresh_token", "client_id", "client_secret"} - info.keys()
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        expiry = None
        if info.get("expiry"):
            expiry = datetime.strptime(
                info["expiry"].rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S"
            )
    except ValueError as exc:
        raise AuthError(f"the stored Gmail authorization is not usable ({exc})") from None
    scopes = info.get("scopes") or [SCOPE]
    if isinstance(scopes, str):
        scopes = scopes.split()
    return Credentials(
        token=info.get("token"),
        refresh_token=info["refresh_token"],
        token_uri=info.get("token_uri") or GOOGLE_TOKEN_URI,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=scopes,
        expiry=expiry,
    )


def authorize(
    client_secrets: str,
    *,
    open_browser: bool = True,
    port: int = 0,
    prompt: str = "Open this URL in a browser to authorize weakties:\n{url}",
    timeout: float | None = None,
) -> Credentials:
    """Run Google's installed-app flow (loopback redirect) for the metadata scope."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    try:
        flow = InstalledAppFlow.from_client_secrets_file(client_secrets, scopes=[SCOPE])
    except FileNotFoundError:
        raise ConnectorError(f"client_secrets {client_secrets}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ConnectorError(
            f"client_secrets {client_secrets}: not an OAuth desktop client JSON ({exc})"
        ) from None
    try:
        creds: Credentials = flow.run_local_server(
            host="localhost",
            bind_addr="127.0.0.1",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=prompt,
            success_message="weakties is authorized; you can close this tab.",
            timeout_seconds=timeout,
            access_type="offline",
            prompt="consent",
        )
    except Exception as exc:  # oauthlib and the wsgi server raise many kinds
        raise AuthError(f"Google authorization failed: {exc}") from None
    if not creds.refresh_token:
        raise AuthError("Google returned no refresh token; run the authorization again")
    granted = set(creds.granted_scopes or creds.scopes or [])
    if granted and SCOPE not in granted:
        raise AuthError("Google did not grant the gmail.metadata scope")
    return creds


# --- records ----------------------------------------------------------------


def labels_role(labels: Sequence[str]) -> FolderRole:
    present = set(labels)
    for label, role in _LABEL_ROLES:
        if label in present:
            return role
    return FolderRole.NORMAL


def header_block(headers: Sequence[dict[str, str]]) -> bytes:
    """Gmail's ``payload.headers`` as an RFC 5322 header block of HEADER_FIELDS only."""
    lines = []
    for header in headers:
        name = str(header.get("name", "")).strip()
        if name.lower() not in _WANTED:
            continue
        value = " ".join(str(header.get("value", "")).split())  # unfolded, no CR/LF
        lines.append(f"{name}: {value}\r\n")
    # JSON can carry lone surrogates ("\\ud800"): written as their (invalid) UTF-8
    # bytes, never an error; the rules read invalid bytes as U+FFFD.
    return ("".join(lines) + "\r\n").encode("utf-8", "surrogatepass")


def to_record(message: dict[str, Any]) -> HeaderRecord:
    """A ``format=metadata`` message resource -> HeaderRecord."""
    labels = message.get("labelIds") or []
    role = labels_role(labels)
    server_time = None
    with contextlib.suppress(TypeError, ValueError, OverflowError, OSError):
        server_time = datetime.fromtimestamp(int(message["internalDate"]) / 1000, UTC)
    if role is not FolderRole.NORMAL:
        folder = next(label for label, r in _LABEL_ROLES if r is role)
    else:
        folder = "INBOX" if "INBOX" in labels else "All Mail"
    return HeaderRecord(
        headers=header_block((message.get("payload") or {}).get("headers") or []),
        server_time=server_time,
        folder=folder,
        role=role,
        uid=str(message.get("id", "")),
    )


# --- errors -----------------------------------------------------------------


def error_reason(exc: HttpError) -> str | None:
    """The first ``errors[].reason`` of Google's JSON error body, if any."""
    try:
        data = json.loads(exc.content.decode("utf-8"))
        return str(data["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def retryable(exc: HttpError) -> bool:
    status = exc.resp.status
    if status == 429 or status >= 500:
        return True
    return status == 403 and error_reason(exc) in _RATE_REASONS


def _retry_after(exc: HttpError) -> float | None:
    return parse_retry_after(exc.resp.get("retry-after"))


def full_cursor(
    start_hid: str, page_token: str | None, next_token: str | None, done: int, page_len: int
) -> dict[str, Any]:
    """The state once ``done`` ids of the page at ``page_token`` are stored."""
    if done < page_len:
        return {"full": {"start_history_id": start_hid, "page_token": page_token, "done": done}}
    if next_token:
        return {"full": {"start_history_id": start_hid, "page_token": next_token, "done": 0}}
    return {"history_id": start_hid}


class _HistoryExpired(Exception):
    """history.list answered 404: the saved historyId is too old."""


@dataclass
class PassStats:
    """What one pass cost."""

    units: int = 0  # quota units spent (retries included)
    requests: int = 0  # HTTP requests sent (a batch is one)
    calls: dict[str, int] = field(default_factory=dict)  # API calls per method
    retries: int = 0
    messages: int = 0  # messages fetched
    waited: float = 0.0  # seconds slept for quota and backoff


# --- the connector ----------------------------------------------------------


class GmailConnector:
    """An authorized Gmail API client; see the module docstring."""

    def __init__(
        self,
        settings: GmailSettings,
        credentials: Credentials,
        *,
        save_token: Callable[[str], None] | None = None,
        auth_hint: str = "run 'weakties auth' again",
        batch_size: int = BATCH_SIZE,
        backoff: Backoff | None = None,
        bucket: TokenBucket | None = None,
        sleep: Sleep | None = None,
        timeout: float | None = None,
    ) -> None:
        import time

        self.settings = settings
        self.credentials = credentials
        self.batch_size = max(1, min(batch_size, 100))
        self.backoff = backoff or Backoff()
        self._sleep = sleep or time.sleep
        self.bucket = bucket or TokenBucket(settings.quota_per_minute, sleep=self._sleep)
        self.stats = PassStats()
        self._save_token = save_token
        self._saved_token = credentials.token
        self._auth_hint = auth_hint
        self.batch_uri = f"{settings.endpoint}/batch/gmail/v1"
        # One socket timeout for every request on this connection: API calls, batches
        # and the token refresh (AuthorizedHttp refreshes through the same Http).
        if timeout is None:
            timeout = timeout_seconds(settings.timeout)
        self._http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=timeout)
        )
        self.service = build(
            "gmail",
            "v1",
            http=self._http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.endpoint},
        )
        users = self.service.users()  # resources are built on each access: keep them
        self._messages = users.messages()
        self._history = users.history()
        self._users = users

    def __enter__(self) -> GmailConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._persist_token()
        with contextlib.suppress(Exception):
            self.service.close()

    # --- plumbing ---

    def _persist_token(self) -> None:
        """Hand a refreshed access token back to be stored (never logged)."""
        token = self.credentials.token
        if self._save_token is not None and token and token != self._saved_token:
            self._save_token(self.credentials.to_json())
            self._saved_token = token

    def _spend(self, method: str, count: int = 1) -> None:
        units = UNITS[method] * count
        self.stats.waited += self.bucket.take(units)
        self.stats.units += units
        self.stats.calls[method] = self.stats.calls.get(method, 0) + count

    def _wait(self, seconds: float) -> None:
        self.stats.retries += 1
        self.stats.waited += seconds
        self._sleep(seconds)

    def _auth_failed(self, exc: Exception) -> AuthError:
        detail = str(exc)
        if "invalid_grant" in detail:
            return AuthError(
                f"Google refused the saved authorization (revoked or expired); {self._auth_hint}"
            )
        return AuthError(f"Gmail authorization failed: {detail}; {self._auth_hint}")

    def _call(self, method: str, request: Any) -> dict[str, Any]:
        """Execute one request with quota pacing and retries."""
        attempt = 0
        while True:
            self._spend(method)
            self.stats.requests += 1
            try:
                answer: dict[str, Any] = request.execute()
                return answer
            except HttpError as exc:
                if not retryable(exc) or attempt >= self.backoff.tries:
                    raise
                log.info("gmail %s: %s, retrying", method, exc.resp.status)
                self._wait(self.backoff.delay(attempt, _retry_after(exc)))
            except (httplib2.HttpLib2Error, OSError) as exc:
                if attempt >= min(self.backoff.tries, 2):
                    raise ConnectError(f"{self.settings.endpoint}: {exc}") from None
                self._wait(self.backoff.delay(attempt))
            finally:
                self._persist_token()
            attempt += 1

    def _get_request(self, message_id: str) -> Any:
        return self._messages.get(
            userId="me", id=message_id, format="metadata", metadataHeaders=list(HEADER_FIELDS)
        )

    def fetch(self, ids: Sequence[str]) -> list[HeaderRecord]:
        """``messages.get`` for ``ids`` in batch requests; 404s skipped, order kept."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), self.batch_size):
            found.update(self._fetch_batch(ids[start : start + self.batch_size]))
        self.stats.messages += len(found)
        return [to_record(found[i]) for i in ids if i in found]

    def _fetch_batch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        pending = list(dict.fromkeys(ids))
        attempt = 0
        while pending:
            answers: dict[str, tuple[Any, HttpError | None]] = {}

            def collect(
                request_id: str,
                response: Any,
                exc: HttpError | None,
                answers: dict[str, tuple[Any, HttpError | None]] = answers,
            ) -> None:
                answers[request_id] = (response, exc)

            batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
            for message_id in pending:
                batch.add(self._get_request(message_id), request_id=message_id)
            self._spend("messages.get", len(pending))
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                batch.execute(http=self._http)
            except HttpError as exc:  # the batch request as a whole failed
                if not retryable(exc):
                    raise
                answers.clear()
                retry_after = _retry_after(exc)
            except (httplib2.HttpLib2Error, OSError) as exc:
                if attempt >= min(self.backoff.tries, 2):
                    raise ConnectError(f"{self.settings.endpoint}: {exc}") from None
                answers.clear()
            finally:
                self._persist_token()
            retry = []
            for message_id in pending:
                response, failure = answers.get(message_id, (None, None))
                if failure is None and response is not None:
                    found[message_id] = response
                elif failure is None:
                    retry.append(message_id)  # no answer for this part
                elif failure.resp.status == 404:
                    log.info("gmail: message %s is gone, skipped", message_id)
                elif retryable(failure):
                    retry.append(message_id)
                    after = _retry_after(failure)
                    if after is not None:
                        retry_after = max(after, retry_after or 0.0)
                else:
                    raise failure
            if retry:
                if attempt >= self.backoff.tries:
                    raise ConnectError(
                        f"Gmail kept refusing {len(retry)} requests "
                        f"after {attempt + 1} tries (rate limit or server errors)"
                    )
                log.info("gmail: %d of %d batch parts to retry", len(retry), len(pending))
                self._wait(self.backoff.delay(attempt, retry_after))
                attempt += 1
            pending = retry
        return found

    # --- sync ---

    def profile(self) -> dict[str, Any]:
        return self._call("getProfile", self._users.getProfile(userId="me"))

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn library exceptions into ConnectorErrors with one line for the user."""
        try:
            yield
        except google.auth.exceptions.RefreshError as exc:
            raise self._auth_failed(exc) from None
        except google.auth.exceptions.TransportError as exc:
            raise ConnectError(f"cannot reach Google's token endpoint: {exc}") from None
        except HttpError as exc:
            status = exc.resp.status
            if status == 401:
                raise self._auth_failed(exc) from None
            where = urlsplit(exc.uri or "").path or self.settings.endpoint
            raise ConnectorError(f"Gmail API {status} for {where}: {exc.reason}") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise ConnectError(f"{self.settings.endpoint}: {exc}") from None

    def address(self) -> str:
        """The mailbox's address (one getProfile call); checks the authorization works."""
        with self._errors():
            return str(self.profile()["emailAddress"])

    def batches(self, state: SyncState) -> Iterator[Batch]:
        self.stats = PassStats()
        try:
            with self._errors():
                yield from self._batches(state)
        finally:
            s = self.stats
            log.info(
                "gmail pass: %d messages, %d quota units, %d requests, %d retries, "
                "%.1fs waited, calls %s",
                s.messages,
                s.units,
                s.requests,
                s.retries,
                s.waited,
                s.calls,
            )

    def _batches(self, state: SyncState) -> Iterator[Batch]:
        saved = dict(state.get(STATE_SCOPE) or {})
        if saved.get("history_id") and not saved.get("full"):
            try:
                yield from self._incremental(str(saved["history_id"]))
                return
            except _HistoryExpired:
                log.info("gmail: history %s expired, doing a full sync", saved["history_id"])
        yield from self._full(saved.get("full"))

    def _full(self, cursor: dict[str, Any] | None) -> Iterator[Batch]:
        profile = self.profile()
        expected = profile.get("messagesTotal")
        if cursor and cursor.get("start_history_id"):
            start_hid = str(cursor["start_history_id"])
            page_token: str | None = cursor.get("page_token")
            skip = int(cursor.get("done", 0))
        else:
            start_hid, page_token, skip = str(profile["historyId"]), None, 0
        messages = self._messages
        while True:
            try:
                page = self._call(
                    "messages.list",
                    messages.list(userId="me", maxResults=LIST_PAGE, pageToken=page_token),
                )
            except HttpError as exc:
                if exc.resp.status != 400 or page_token is None:
                    raise
                log.info("gmail: saved page token refused, restarting the full sync")
                start_hid, page_token, skip = str(profile["historyId"]), None, 0
                continue
            ids = [m["id"] for m in page.get("messages") or []]
            next_token = page.get("nextPageToken")

            yielded = False
            for low in range(skip, len(ids), self.batch_size):
                chunk = ids[low : low + self.batch_size]
                records = self.fetch(chunk)
                cursor = full_cursor(start_hid, page_token, next_token, low + len(chunk), len(ids))
                yield Batch(records, {STATE_SCOPE: cursor}, expected)
                yielded = True
            if not yielded:
                cursor = full_cursor(start_hid, page_token, next_token, len(ids), len(ids))
                yield Batch([], {STATE_SCOPE: cursor}, expected)
            if not next_token:
                return
            page_token, skip = next_token, 0

    def _incremental(self, start: str) -> Iterator[Batch]:
        entries: list[tuple[str, str]] = []  # (message id, history record id), ascending
        seen: set[str] = set()
        latest, token = start, None
        history = self._history
        while True:
            try:
                page = self._call(
                    "history.list",
                    history.list(
                        userId="me",
                        startHistoryId=start,
                        historyTypes=["messageAdded"],
                        maxResults=LIST_PAGE,
                        pageToken=token,
                    ),
                )
            except HttpError as exc:
                if exc.resp.status == 404:
                    raise _HistoryExpired() from None
                raise
            for record in page.get("history") or []:
                for added in record.get("messagesAdded") or []:
                    message_id = added["message"]["id"]
                    if message_id not in seen:
                        seen.add(message_id)
                        entries.append((message_id, str(record["id"])))
            latest = str(page.get("historyId") or latest)
            token = page.get("nextPageToken")
            if not token:
                break
        if not entries:
            if latest != start:
                yield Batch([], {STATE_SCOPE: {"history_id": latest}}, 0)
            return
        cursor = start
        for low in range(0, len(entries), self.batch_size):
            chunk = entries[low : low + self.batch_size]
            records = self.fetch([message_id for message_id, _ in chunk])
            end = low + len(chunk)
            if end == len(entries):
                cursor = latest
            else:  # the last record all of whose messages are now stored
                unfinished = entries[end][1]
                done = [rid for _, rid in entries[:end] if rid != unfinished]
                cursor = done[-1] if done else cursor
            yield Batch(records, {STATE_SCOPE: {"history_id": cursor}}, len(entries))


def connect(
    settings: GmailSettings,
    token_json: str,
    *,
    save_token: Callable[[str], None] | None = None,
    auth_hint: str = "run 'weakties auth' again",
    **options: Any,
) -> GmailConnector:
    """A Gmail connector for stored authorized-user JSON; raises ConnectorError.

    ``options`` (batch_size, backoff, bucket, sleep, timeout) are for tests
    and benchmarks. Nothing is sent until the first pass.
    """
    credentials = credentials_from_json(token_json)
    return GmailConnector(
        settings, credentials, save_token=save_token, auth_hint=auth_hint, **options
    )
