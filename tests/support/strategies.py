"""Hypothesis strategies shared by the adapters' property tests: arbitrary JSON and timestamps."""

from __future__ import annotations

from hypothesis import strategies as st


def _json(finite: bool) -> st.SearchStrategy[object]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | st.text(max_size=40)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=20,
    )


#: Any JSON-like value, NaN and infinities included (orjson refuses to encode those).
json_values = _json(finite=False)
#: Any JSON value the stdlib encoder writes as standard JSON.
finite_json_values = _json(finite=True)
#: ISO-8601 text, with and without offsets, and text that is not a timestamp at all.
timestamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.text(max_size=30),
)
