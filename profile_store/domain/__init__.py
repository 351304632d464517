"""The identity domain, pure: which identifiers link and which customers merge (`identity`,
configured by `identity_rules` and `stitching_config`), traits and survey-score survivorship
(`traits`, `cx`), which events are late and which part of a batch to re-derive (`lateness`,
`batch_groups`, `scope`), and the replay that re-derives it (`rederive`).

Plain dataclasses and functions: no SQL, Kafka or web imports, even indirectly (enforced by
import-linter), so every rule here is unit-tested in milliseconds.
"""
