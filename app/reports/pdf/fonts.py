"""Register a Chinese-capable font once: WenQuanYi Zen Hei (embedded), else the CID font STSong-Light."""
import os

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

WQY_ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
_registered: str | None = None


def cjk_font() -> str:
    """The registered font name to use for any text that may contain Chinese."""
    global _registered
    if _registered is None:
        if os.path.exists(WQY_ZENHEI):
            pdfmetrics.registerFont(TTFont("WenQuanYiZenHei", WQY_ZENHEI, subfontIndex=0))
            _registered = "WenQuanYiZenHei"
        else:
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _registered = "STSong-Light"
    return _registered
