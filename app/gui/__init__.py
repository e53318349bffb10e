"""The ``lprr gui`` desktop app (PySide6 + pyqtgraph).

Modules: ``controller`` (the Qt adapter around a live engine.session.Session),
``presenter`` (display images prepared off the GUI thread), ``character_proc`` (the character preview rendered in a child
process), ``views`` (image views and the patch strip), ``curves`` (scrolling weight curves),
``controls_panel`` and ``mapping_table`` (what the user tunes), ``main_window`` (wiring,
drawing, status bar), ``meter`` and ``benchmark`` (what drawing costs; scripts/gui_fps.py).
"""

from lprr.app.gui.qt_compat import clean_qt_env as _clean_qt_env
from lprr.app.gui.qt_compat import install as _install_qt_fixes

_clean_qt_env()  # before any QApplication exists
_install_qt_fixes()  # before any signal is emitted (pyqtgraph's included)
