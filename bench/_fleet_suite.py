"""A stand-in for the suite's bot endpoints, for the fleet benchmark: N hotels with the demo
channel idle, read with one fleet token. Answers are precomputed: the bench measures the bots.

    python bench/_fleet_suite.py --hotels 1000 --token T --port-file F

Serves on 127.0.0.1 (a free port, written to F) until killed.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAGE = 200


def hotel_names(count: int) -> list[str]:
    return [f"hotel-{number:05d}" for number in range(count)]


def settings_of(hotel: str) -> bytes:
    channels = {"demo": {"webhook_secret": "bench-only", "simulated_guest_interval_seconds": 0}}
    return json.dumps({"hotel": hotel, "version": 1, "channels": channels}).encode()


def serve(count: int, token: str, port_file: Path) -> None:
    hotels = hotel_names(count)
    settings = {hotel: settings_of(hotel) for hotel in hotels}
    pages: dict[str, bytes] = {}
    for start in range(0, count, PAGE):
        page = hotels[start : start + PAGE]
        cursor = "" if start == 0 else hotels[start - 1]
        more = start + PAGE < count
        pages[cursor] = json.dumps(
            {
                "items": [{"slug": hotel, "config_version": 1} for hotel in page],
                "next_cursor": page[-1] if more else None,
            }
        ).encode()
    if not pages:
        pages[""] = b'{"items": [], "next_cursor": null}'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the suite behind uvicorn

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parts = url.path.split("/")
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, b"{}")
            elif url.path == "/api/v1/bot/hotels":
                cursor = parse_qs(url.query).get("cursor", [""])[0]
                self._answer(200, pages.get(cursor, b'{"items": [], "next_cursor": null}'))
            elif len(parts) >= 7 and parts[5:7] == ["bot", "settings"] and parts[4] in settings:
                if len(parts) == 7:
                    self._answer(200, settings[parts[4]])
                else:
                    self._answer(200, b'{"version": 1}')
            else:
                self._answer(404, b"{}")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            """Quiet: a bot stopped or killed resets its kept-alive connections."""

    server = Server(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]), encoding="utf-8")
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hotels", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    args = parser.parse_args()
    serve(args.hotels, args.token, args.port_file)


if __name__ == "__main__":
    main()
