"""What a route answers: a status, a JSON body and headers, whatever carries the request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode()
