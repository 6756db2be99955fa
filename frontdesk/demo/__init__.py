"""Demo and benchmark datasets: realistic Singapore salon members, deterministic by seed."""
