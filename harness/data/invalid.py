"""``--skip-invalid``: drop records that fail validation, count them, and say so, instead of
stopping at the first one. Without it, the first bad record is the error."""

from __future__ import annotations

from harness.errors import DataError


class InvalidRecords:
    def __init__(self, skip: bool):
        self.skip = skip
        self.messages: list[str] = []

    def parse(self, parse, *args, **kwargs):
        """``parse(*args, **kwargs)``; with skipping on, a DataError is counted and None
        returned instead of raised."""
        try:
            return parse(*args, **kwargs)
        except DataError as exc:
            if not self.skip:
                raise
            self.messages.append(str(exc))
            return None

    def note(self) -> str | None:
        if not self.messages:
            return None
        shown = "; ".join(self.messages[:3])
        more = f" (and {len(self.messages) - 3} more)" if len(self.messages) > 3 else ""
        return f"--skip-invalid dropped {len(self.messages)} invalid record(s): {shown}{more}"
