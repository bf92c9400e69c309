"""The one error type for broken business rules (STYLE 9)."""


class ApplicationError(Exception):
    """A business rule was broken. ``message`` is shown to the user as it is (already translated)."""

    def __init__(self, message, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class UploadTooLarge(ApplicationError):
    """A file over its upload limit; the API answers 413 for it."""
