"""The opt-in benchmark (``make bench``): see bench/README.md."""
