"""The read path: the unified profile (`profile`), timeline pages (`timeline`), search, the
profile summary, merge lineage, the live stream's polls (`live`), and their output models
(`models`, `summary_models`, `view_models`). Independent of the write path (import-linter)."""
