"""Widgets shared by several screens (form pieces, dialog footer, card style). Import Qt and `frontdesk.domain` only."""
