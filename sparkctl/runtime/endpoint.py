"""Probing the OpenAI-compatible endpoint every runtime serves: /v1/models, then one tiny
completion, each bounded by a timeout. Judged into the shared CheckResult shape."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from sparkctl.checks.result import CheckResult, Verdict

PROMPT = "Say OK."
_LOGS = "logs: /var/log/sparkctl/runtime/serve.log on node 1, or `docker logs` of the container"


@dataclass(frozen=True)
class HttpReply:
    status: int | None  # None: no HTTP answer at all
    body: bytes
    elapsed_s: float
    error: str | None = None


# Cluster addresses are never reached through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url: str, payload: dict | None, timeout: float) -> HttpReply:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
    began = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as reply:
            return HttpReply(reply.status, reply.read(), time.monotonic() - began)
    except urllib.error.HTTPError as exc:
        return HttpReply(exc.code, exc.read() or b"", time.monotonic() - began)
    except TimeoutError:  # socket.timeout is TimeoutError since 3.10
        return HttpReply(None, b"", time.monotonic() - began,
                         f"no answer within {timeout:g} s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = (f"no answer within {timeout:g} s" if isinstance(reason, TimeoutError)
                else str(reason))
        return HttpReply(None, b"", time.monotonic() - began, text)
    except (ConnectionError, OSError) as exc:
        return HttpReply(None, b"", time.monotonic() - began, str(exc))


def _json(reply: HttpReply):
    try:
        return json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def check_models(base_url: str, model: str, timeout: float) -> tuple[CheckResult, str | None]:
    """(the check, the model id to ask for a completion, or None when there is none)."""
    url = base_url.rstrip("/") + "/v1/models"
    reply = http(url, None, timeout)

    def fail(diagnosis: str, measured=None) -> tuple[CheckResult, None]:
        return CheckResult("runtime.models", "endpoint", url, Verdict.FAIL, measured, model,
                           None, diagnosis, "the server may still be loading the model; "
                           + _LOGS), None

    if reply.status is None:
        return fail(f"no HTTP answer from {url}: {reply.error}")
    if reply.status != 200:
        return fail(f"{url} answered HTTP {reply.status}", reply.status)
    data = _json(reply)
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        return fail(f"{url} answered 200 but not an OpenAI model list "
                    "({\"data\": [{\"id\": ...}]})")
    ids = [str(m.get("id")) for m in models if m.get("id") is not None]
    if not ids:
        return fail(f"{url} lists no model")
    if model in ids:
        return CheckResult("runtime.models", "endpoint", url, Verdict.PASS, ", ".join(ids),
                           model, None, f"serves {model}"), model
    return CheckResult("runtime.models", "endpoint", url, Verdict.DEGRADED, ", ".join(ids),
                       model, None, f"serves {', '.join(ids)}, not the requested {model}",
                       "another launch holds the port; `sparkctl runtime down` it, then up"
                       ), ids[0]


def check_completion(base_url: str, model: str | None, timeout: float) -> CheckResult:
    url = base_url.rstrip("/") + "/v1/completions"
    if model is None:
        return CheckResult("runtime.completion", "endpoint", url, Verdict.FAIL, None, "200",
                           None, "not tried: /v1/models did not list a model to ask",
                           "fix runtime.models first")
    payload = {"model": model, "prompt": PROMPT, "max_tokens": 1, "temperature": 0}
    reply = http(url, payload, timeout)
    ms = round(reply.elapsed_s * 1000, 1)
    if reply.status is None:
        return CheckResult("runtime.completion", "endpoint", url, Verdict.FAIL, None, "200",
                           None, f"no completion from {url}: {reply.error}", _LOGS)
    data = _json(reply)
    if reply.status != 200:
        detail = ""
        if isinstance(data, dict):
            err = data.get("error")
            detail = str(err.get("message") if isinstance(err, dict) else err or "")[:200]
        return CheckResult("runtime.completion", "endpoint", url, Verdict.FAIL, reply.status,
                           200, None, f"{url} answered HTTP {reply.status}"
                           + (f": {detail}" if detail else ""), _LOGS)
    choices = data.get("choices") if isinstance(data, dict) else None
    if (not isinstance(choices, list) or not choices or not isinstance(choices[0], dict)
            or not isinstance(choices[0].get("text"), str)):
        return CheckResult("runtime.completion", "endpoint", url, Verdict.FAIL, None, None,
                           None, f"{url} answered 200 without choices[0].text", _LOGS)
    return CheckResult("runtime.completion", "endpoint", url, Verdict.PASS, ms, timeout * 1000,
                       "ms", f"one-token completion from {model} in {ms} ms")


def probe_endpoint(base_url: str, model: str, timeout: float) -> list[CheckResult]:
    models, served = check_models(base_url, model, timeout)
    return [models, check_completion(base_url, served, timeout)]
