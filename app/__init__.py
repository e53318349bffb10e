"""What a person touches: the ``lprr`` command line and the Qt GUI."""
