"""`threadline dev`: the embedded stack (Tansu broker, PostgreSQL, worker, gateway, SMTP, API),
supervised: ordered stop, restarts, a broker that never holds more than it should, and a
stack file the CLI reads."""

from services.devstack.startup import wait_ready
from services.devstack.supervisor import run_dev

__all__ = ["run_dev", "wait_ready"]
