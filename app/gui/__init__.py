"""The ``lprr gui`` desktop app (PySide6 + pyqtgraph).

Modules: ``worker`` (the live session off the GUI thread), ``views`` (image views and the
patch strip), ``curves`` (scrolling weight curves), ``controls_panel`` and ``mapping_table``
(what the user tunes), ``main_window`` (wiring, redraw timer, status bar).
"""
