"""PostgreSQL benchmarks of the area tree: ``python -m bench`` (see bench/README.md)."""
