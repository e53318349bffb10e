"""Image views: a BGR numpy image drawn scaled to fit, and the patch strip (source patch
beside the reenacted character patch, per region).

Drawing is split so that the GUI thread only blits: ``ImageView.prepare`` (any thread)
scales the image to the view's current size and converts it to Qt's native 32-bit layout;
``ImageView.show_prepared`` (GUI thread) wraps that buffer in a QImage without copying.
Under a software (raster) paint engine a scaled ``drawImage`` of an RGB888 image converts
and filters on every paint; an unscaled RGB32 ``drawImage`` is a copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from lprr.engine.face.apem import PATCH_NAMES

_BG = QColor(24, 24, 28)
_TEXT = QColor(150, 150, 160)
PATCH_LABELS = {"lip": "lip", "eye_l": "eye L", "eye_r": "eye R"}


def to_bgra(bgr: np.ndarray) -> np.ndarray:
    """B, G, R, 255 bytes: QImage.Format_RGB32 on little-endian machines, which is what the
    raster engine draws without converting."""
    code = cv2.COLOR_GRAY2BGRA if bgr.ndim == 2 else cv2.COLOR_BGR2BGRA
    return np.ascontiguousarray(cv2.cvtColor(bgr, code))


def fit_size(iw: int, ih: int, w: int, h: int) -> tuple[int, int]:
    """The largest (w, h) of aspect iw:ih inside w x h."""
    s = min(w / iw, h / ih)
    return max(1, int(iw * s)), max(1, int(ih * s))


@dataclass
class Prepared:
    """One image made ready for one view (see ``ImageView.prepare``)."""

    bgr: np.ndarray  # the image as given (tests, screenshots)
    bgra: np.ndarray  # scaled to ``for_size`` (device pixels) when that was known, 4 channels
    for_size: tuple[int, int]  # the view's size (device pixels) it was scaled for; (0, 0): not


class ImageView(QWidget):
    """Draws the last image given (``set_image``, ``show_prepared``), scaled to fit, aspect
    kept."""

    def __init__(self, placeholder: str = "", min_size: int = 96, smooth: bool = False,
                 parent=None):
        """smooth: bilinear when enlarging too (flat-shaded renders); otherwise pixels stay
        sharp when enlarged (landmark dots) and only shrinking is filtered."""
        super().__init__(parent)
        self.placeholder = placeholder
        self.smooth = smooth
        self.image: np.ndarray | None = None  # the BGR image shown (for tests and grabs)
        self._qimage: QImage | None = None
        self._buf: np.ndarray | None = None
        self._size = (0, 0)  # device pixels; written on the GUI thread, read by ``prepare``
        self._dpr = 1.0
        self.scaled_paints = 0  # paints that had to scale (the view changed size): diagnostics
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # -- any thread -------------------------------------------------------------------------
    def prepare(self, bgr: np.ndarray) -> Prepared:
        """Scale ``bgr`` to this view's size and convert it; safe off the GUI thread (it only
        reads two plain attributes of the view)."""
        size = self._size
        img = bgr
        if size[0] > 0 and size[1] > 0:
            ih, iw = bgr.shape[:2]
            w, h = fit_size(iw, ih, *size)
            if (w, h) != (iw, ih):
                if w < iw:
                    interp = cv2.INTER_AREA
                else:
                    interp = cv2.INTER_LINEAR if self.smooth else cv2.INTER_NEAREST
                img = cv2.resize(bgr, (w, h), interpolation=interp)
        return Prepared(bgr, to_bgra(img), size)

    # -- GUI thread -------------------------------------------------------------------------
    def show_prepared(self, prep: Prepared | None) -> None:
        if prep is None:
            self.image = self._qimage = self._buf = None
        else:
            self.image = prep.bgr
            h, w = prep.bgra.shape[:2]
            self._buf = prep.bgra
            self._qimage = QImage(prep.bgra.data, w, h, prep.bgra.strides[0],
                                  QImage.Format.Format_RGB32)
        self.update()

    def set_image(self, bgr: np.ndarray | None) -> None:
        self.show_prepared(None if bgr is None else self.prepare(bgr))

    def sizeHint(self) -> QSize:
        return QSize(256, 256)

    def resizeEvent(self, event) -> None:
        self._dpr = self.devicePixelRatioF()
        self._size = (round(self.width() * self._dpr), round(self.height() * self._dpr))
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), _BG)
        if self._qimage is None or self.image is None:
            if self.placeholder:
                p.setPen(_TEXT)
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        ih, iw = self.image.shape[:2]
        dw, dh = fit_size(iw, ih, *self._size) if min(self._size) > 0 else (iw, ih)
        dpr = self._dpr
        w, h = max(1, round(dw / dpr)), max(1, round(dh / dpr))
        x, y = (self.width() - w) // 2, (self.height() - h) // 2
        if (self._qimage.width(), self._qimage.height()) == (dw, dh):
            self._qimage.setDevicePixelRatio(dpr)
            p.drawImage(QPoint(x, y), self._qimage)  # already the right size: a copy
            return
        self.scaled_paints += 1  # resized since it was prepared: scale here, once
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                        self.smooth or dw < self._qimage.width())
        p.drawImage(QRect(x, y, w, h), self._qimage)


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

    def prepare(self, patches: dict[str, np.ndarray] | None,
                reenacted: dict[str, np.ndarray] | None
                ) -> dict[str, tuple[Prepared | None, Prepared | None]]:
        """Any thread: name -> (source patch, reenacted patch), ready to show."""
        out = {}
        for name in PATCH_NAMES:
            src = None if patches is None else patches.get(name)
            rec = None if reenacted is None else reenacted.get(name)
            out[name] = (None if src is None else self.source[name].prepare(src),
                         None if rec is None else self.reenacted[name].prepare(rec))
        return out

    def show_prepared(self, prepared: dict[str, tuple[Prepared | None, Prepared | None]]
                      ) -> None:
        for name in PATCH_NAMES:
            src, rec = prepared.get(name, (None, None))
            self.source[name].show_prepared(src)
            self.reenacted[name].show_prepared(rec)
