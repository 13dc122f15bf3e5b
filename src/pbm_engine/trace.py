"""The explanation trace: one line per step, recorded only when asked for."""

from __future__ import annotations

__all__ = ["Trace"]


class Trace:
    """Collects explanation lines when tracing is on; free when it is off."""

    __slots__ = ("lines",)

    def __init__(self, on: bool) -> None:
        self.lines: list[str] | None = [] if on else None

    def __bool__(self) -> bool:
        return self.lines is not None

    def __call__(self, text: str) -> None:
        if self.lines is not None:
            self.lines.append(text)

    def done(self) -> tuple[str, ...]:
        return tuple(self.lines) if self.lines else ()
