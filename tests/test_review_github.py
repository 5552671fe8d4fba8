"""GitHubComments against a local stand-in of GitHub's REST API (issue comments):
the marked comment is found across pages and edited, or a new one is created."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from automation.review_comment import GitHubComments, marker

MARK = marker("user-api", "dev")


class FakeGitHub:
    def __init__(self, comments: list[dict]) -> None:
        self.comments = comments
        self.requests: list[tuple[str, str, dict | None, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict | None:
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n)) if n else None

            def do_GET(self) -> None:
                url = urlparse(self.path)
                outer.requests.append(("GET", url.path, None, self.headers["Authorization"]))
                q = parse_qs(url.query)
                page, size = int(q["page"][0]), int(q["per_page"][0])
                self._reply(200, outer.comments[(page - 1) * size : page * size])

            def do_PATCH(self) -> None:
                body = self._body()
                outer.requests.append(("PATCH", self.path, body, self.headers["Authorization"]))
                cid = int(self.path.rsplit("/", 1)[1])
                for c in outer.comments:
                    if c["id"] == cid:
                        c["body"] = body["body"]
                self._reply(200, {})

            def do_POST(self) -> None:
                body = self._body()
                outer.requests.append(("POST", self.path, body, self.headers["Authorization"]))
                outer.comments.append({"id": 1000 + len(outer.comments), "body": body["body"]})
                self._reply(201, {})

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_marked_comment_on_the_second_page_is_edited() -> None:
    others = [{"id": i, "body": f"comment {i}"} for i in range(150)]
    others[120]["body"] = MARK + "\nold"
    gh = FakeGitHub(others)
    with gh as api:
        kind = GitHubComments("acme/user-api", "t0ken", api=api).upsert(42, MARK, MARK + "\nnew")
    assert kind == "edited"
    assert [(m, p) for m, p, _, _ in gh.requests] == [
        ("GET", "/repos/acme/user-api/issues/42/comments"),
        ("GET", "/repos/acme/user-api/issues/42/comments"),
        ("PATCH", "/repos/acme/user-api/issues/comments/120"),
    ]
    assert gh.comments[120]["body"] == MARK + "\nnew" and len(gh.comments) == 150
    assert {auth for *_, auth in gh.requests} == {"Bearer t0ken"}


def test_without_a_marked_comment_one_is_created_then_edited() -> None:
    gh = FakeGitHub([{"id": 1, "body": "LGTM"}, {"id": 2, "body": "<!-- multilane-pr-preview -->\n..."}])
    with gh as api:
        sink = GitHubComments("acme/user-api", "t", api=api)
        assert sink.upsert(42, MARK, MARK + "\none") == "created"
        assert sink.upsert(42, MARK, MARK + "\ntwo") == "edited"
    assert [m for m, *_ in gh.requests] == ["GET", "POST", "GET", "PATCH"]
    assert [c["body"] for c in gh.comments] == ["LGTM", "<!-- multilane-pr-preview -->\n...", MARK + "\ntwo"]
