"""The Qt-free, HTTP-free core: money, phone numbers, names, members, PINs and the loyalty programme.

Imports nothing of Front Desk outside `frontdesk.domain` (and no database, Qt or HTTP library).
"""
