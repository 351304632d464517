"""Stream processors (Faust), the `threadline` command line and the embedded dev stack."""


class ServicesError(Exception):
    """Base class for every error raised by `services`."""
