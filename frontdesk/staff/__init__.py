"""Staff at the counter: who they are, their PINs (scrypt, `frontdesk.domain.pins`) and the lockout. Qt-free.

May import `frontdesk.domain` and `frontdesk.store`; never Qt, HTTP, `frontdesk.ui`, `frontdesk.app` or `sync`.
"""
