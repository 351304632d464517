"""`make bench`: the Threadline benchmark suite (raw baselines, pipeline, freshness, API, soak)."""


class BenchError(Exception):
    """Base class for benchmark failures (a stack that does not start, a phase that times out)."""
