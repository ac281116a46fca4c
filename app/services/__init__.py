"""Domain rules, one module per domain. Services add and flush; the edge commits."""
