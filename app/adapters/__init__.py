"""Institution adapters: each institution's native format to and from the common schema.

Mapping only; see `base` for the contract and `registry` for the list. `rnpn` (identity
queries) and `regional` (aggregate export) are outbound only and live outside the
registry: nobody posts records in their format.
"""
