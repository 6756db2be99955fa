"""Demo and benchmark datasets: realistic Singapore salon members, deterministic by seed.

Shipped (the demo counter builds its database with it); may import `frontdesk.domain` and `frontdesk.store`.
"""
