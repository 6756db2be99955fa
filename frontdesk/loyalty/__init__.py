"""The loyalty programme in force at this counter (pulled from the server, cached, or the installed file) and what
the member panel shows of it: points value, tier progress, usable rewards. Qt-free.

May import `frontdesk.domain`, `frontdesk.store`, `frontdesk.members` and `frontdesk.config`; never Qt, HTTP,
`frontdesk.ui`, `frontdesk.app` or `sync`.
"""
