"""The sale's screens: the checkout (bill rows, rewards, payments, live preview), void and refund, the receipt view.

May import `frontdesk.sales`, `frontdesk.counter`, the other feature packages, `frontdesk.ui.widgets` and
`frontdesk.ui.tasks`; never `frontdesk.app`.
"""
