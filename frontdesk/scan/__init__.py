"""QR scanning without Qt: frame sources, decoders, what a code means, member cards, the scan CLI.

The Qt worker and widgets live in frontdesk/ui/scanner_view.py and frontdesk/ui/member_card_dialog.py. May import
`frontdesk.domain`; never Qt, `frontdesk.ui` or `frontdesk.app`. The synthetic test corpus is `devtools.scan_corpus`.
"""
import os

# These must be set before cv2 is first imported, and any frontdesk.scan module may be the first to import it.
# Without the first, the Windows Media Foundation backend can take minutes to open some webcams (opencv#17687).
os.environ.setdefault("OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS", "0")
# Probing camera indices that do not exist makes OpenCV print warnings; nobody at a counter reads stderr.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
