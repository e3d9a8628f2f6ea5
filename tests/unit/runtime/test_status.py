"""`runtime status` judged on answers from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from sparkctl.checks.result import Verdict
from sparkctl.cli.app import app
from sparkctl.runtime.endpoint import probe_endpoint
from sparkctl.runtime.status import judge_node, parse_status

MODEL = "openai/gpt-oss-120b"


class Server:
    """An HTTP server whose answers each test sets: path -> (status, body, delay_s)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.requests: list[tuple[str, str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.command, self.path, self.rfile.read(length)))
                status, body, delay = outer.routes.get(self.path, (404, b"{}", 0.0))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def healthy(self) -> None:
        self.routes["/v1/models"] = (200, json.dumps(
            {"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode(), 0.0)
        self.routes["/v1/completions"] = (200, json.dumps(
            {"choices": [{"index": 0, "text": " OK", "finish_reason": "length"}]}).encode(), 0.0)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def verdicts(checks):
    return [(c.id, c.verdict) for c in checks]


def test_a_healthy_server_passes_and_is_asked_for_one_token(server):
    server.healthy()
    checks = probe_endpoint(server.url, MODEL, timeout=2)
    assert verdicts(checks) == [("runtime.models", Verdict.PASS),
                                ("runtime.completion", Verdict.PASS)]
    method, path, body = server.requests[-1]
    assert (method, path) == ("POST", "/v1/completions")
    assert json.loads(body) == {"model": MODEL, "prompt": "Say OK.", "max_tokens": 1,
                                "temperature": 0}


def test_another_model_on_the_port_is_degraded(server):
    server.healthy()
    server.routes["/v1/models"] = (200, b'{"data": [{"id": "someone/else"}]}', 0.0)
    models, completion = probe_endpoint(server.url, MODEL, timeout=2)
    assert models.verdict is Verdict.DEGRADED and "not the requested" in models.diagnosis
    assert json.loads(server.requests[-1][2])["model"] == "someone/else"
    assert completion.verdict is Verdict.PASS


@pytest.mark.parametrize("route, body, expect", [
    ("/v1/models", b"<html>loading</html>", "not an OpenAI model list"),
    ("/v1/models", b'{"data": []}', "lists no model"),
])
def test_bad_model_lists_fail(server, route, body, expect):
    server.healthy()
    server.routes[route] = (200, body, 0.0)
    models, completion = probe_endpoint(server.url, MODEL, timeout=2)
    assert models.verdict is Verdict.FAIL and expect in models.diagnosis
    assert completion.verdict is Verdict.FAIL and "not tried" in completion.diagnosis


def test_http_errors_fail_with_the_servers_message(server):
    server.healthy()
    server.routes["/v1/completions"] = (500, b'{"error": {"message": "CUDA out of memory"}}',
                                        0.0)
    _, completion = probe_endpoint(server.url, MODEL, timeout=2)
    assert completion.verdict is Verdict.FAIL
    assert "HTTP 500: CUDA out of memory" in completion.diagnosis
    server.routes["/v1/models"] = (503, b"", 0.0)
    models, _ = probe_endpoint(server.url, MODEL, timeout=2)
    assert models.verdict is Verdict.FAIL and models.measured == 503


def test_a_completion_without_text_fails(server):
    server.healthy()
    server.routes["/v1/completions"] = (200, b'{"choices": []}', 0.0)
    assert probe_endpoint(server.url, MODEL, timeout=2)[1].verdict is Verdict.FAIL


def test_a_slow_server_is_cut_off_at_the_timeout(server):
    server.healthy()
    server.routes["/v1/completions"] = (200, b'{"choices": [{"text": "x"}]}', 3.0)
    began = time.monotonic()
    _, completion = probe_endpoint(server.url, MODEL, timeout=0.5)
    assert time.monotonic() - began < 2.5
    assert completion.verdict is Verdict.FAIL and "within 0.5 s" in completion.diagnosis


def test_nothing_listening_fails_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    models, completion = probe_endpoint(f"http://127.0.0.1:{port}", MODEL, timeout=2)
    assert models.verdict is Verdict.FAIL and "no HTTP answer" in models.diagnosis
    assert completion.verdict is Verdict.FAIL


def test_status_command_exit_codes(server, cluster_file):
    cluster = str(cluster_file("direct"))
    args = ["runtime", "status", "vllm", "--cluster", cluster, "--model", MODEL,
            "--endpoint", server.url, "--no-ssh", "--timeout", "2"]
    server.healthy()
    r = CliRunner().invoke(app, args + ["--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["verdict"] == "pass"
    server.routes["/v1/completions"] = (500, b"{}", 0.0)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and "verdict: fail" in r.output


def test_node_state_from_the_launch_scripts_status_lines(target):
    from sparkctl.runtime.prepare import prepare_launch

    plan = prepare_launch(target("ring3"), "vllm", model=MODEL, tp="1", pp=3)
    head, worker = plan.nodes[0], plan.nodes[1]
    good = "container=running\nconfig_current=yes\nray_nodes=3\nserver=running\n"
    assert all(c.verdict is Verdict.PASS for c in judge_node(head, plan, True, good, None))
    short = judge_node(head, plan, True, good.replace("ray_nodes=3", "ray_nodes=2"), None)
    ray = next(c for c in short if c.id == "runtime.ray")
    assert ray.verdict is Verdict.FAIL and ray.measured == 2 and ray.expected == 3
    stale = judge_node(worker, plan, True, "container=running\nconfig_current=no\n", None)
    assert [c.verdict for c in stale] == [Verdict.DEGRADED]
    gone = judge_node(worker, plan, True, "deployed=no\n", None)
    assert gone[0].verdict is Verdict.FAIL and "runtime up" in gone[0].hint
    lost = judge_node(worker, plan, False, "", "unreachable: no answer from 10.0.0.12:22")
    assert lost[0].verdict is Verdict.FAIL and "unreachable" in lost[0].diagnosis
    assert parse_status("noise\nserver=absent\n=x\n") == {"server": "absent"}
