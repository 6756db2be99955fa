"""Members at the counter: what the panel shows of one (`lookup`) and enrolling a walk-in (`enrolment`). Qt-free.

May import `frontdesk.domain`, `frontdesk.store`, `frontdesk.search` and `frontdesk.config`; never Qt, HTTP,
`frontdesk.ui`, `frontdesk.app` or `sync`.
"""
