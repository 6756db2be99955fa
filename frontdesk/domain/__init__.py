"""The Qt-free, HTTP-free core: money, phone numbers, names, members and the loyalty programme."""
