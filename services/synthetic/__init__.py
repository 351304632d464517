"""Synthetic customers and the native payloads their channel systems send: the benchmark's
load and the demo's contact centre (`threadline dev --demo`)."""
