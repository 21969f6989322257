from __future__ import annotations


class ServiceError(Exception):
    """A request the domain refuses (conflict, invalid input); the message is for people.

    Views show it next to the control; the API returns it with status 409/400.
    """

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict
