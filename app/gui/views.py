"""Image views: a BGR numpy image drawn scaled to fit, and the patch strip (source patch
beside the reenacted character patch, per region)."""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from engine.apem import PATCH_NAMES

_BG = QColor(24, 24, 28)
_TEXT = QColor(150, 150, 160)
PATCH_LABELS = {"lip": "lip", "eye_l": "eye L", "eye_r": "eye R"}


def to_qimage(bgr: np.ndarray) -> tuple[QImage, np.ndarray]:
    """(QImage, the RGB buffer it points into; keep it alive as long as the QImage)."""
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888), rgb


class ImageView(QWidget):
    """Draws the last image given to ``set_image``, scaled to fit, aspect kept."""

    def __init__(self, placeholder: str = "", min_size: int = 96, smooth: bool = False,
                 parent=None):
        """smooth: bilinear when enlarging too (flat-shaded renders); otherwise pixels stay
        sharp when enlarged (landmark dots) and only shrinking is filtered."""
        super().__init__(parent)
        self.placeholder = placeholder
        self.smooth = smooth
        self.image: np.ndarray | None = None  # the BGR image shown (for tests and grabs)
        self._qimage: QImage | None = None
        self._rgb: np.ndarray | None = None
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, bgr: np.ndarray | None) -> None:
        self.image = bgr
        if bgr is None:
            self._qimage = self._rgb = None
        else:
            self._qimage, self._rgb = to_qimage(bgr)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(256, 256)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), _BG)
        if self._qimage is None:
            if self.placeholder:
                p.setPen(_TEXT)
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        iw, ih = self._qimage.width(), self._qimage.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = max(1, int(iw * s)), max(1, int(ih * s))
        target = QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth or s < 1.0)
        p.drawImage(target, self._qimage)


class PatchStrip(QWidget):
    """One row per patch region: the source patch beside the reenacted character patch."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.source: dict[str, ImageView] = {}
        self.reenacted: dict[str, ImageView] = {}
        bold = QFont()
        bold.setBold(True)
        for col, text in ((1, "source patch"), (2, "reenacted")):
            lab = QLabel(text)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(lab, 0, col)
        for row, name in enumerate(PATCH_NAMES, start=1):
            title = QLabel(PATCH_LABELS.get(name, name))
            title.setFont(bold)
            title.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(title, row, 0)
            self.source[name] = ImageView("no face", 64)
            self.reenacted[name] = ImageView("-", 64)
            grid.addWidget(self.source[name], row, 1)
            grid.addWidget(self.reenacted[name], row, 2)
            grid.setRowStretch(row, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)

    def show_patches(self, patches: dict[str, np.ndarray] | None,
                     reenacted: dict[str, np.ndarray] | None) -> None:
        for name in PATCH_NAMES:
            self.source[name].set_image(None if patches is None else patches.get(name))
            self.reenacted[name].set_image(None if reenacted is None else reenacted.get(name))
