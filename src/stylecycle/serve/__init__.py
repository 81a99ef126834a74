"""``stylecycle serve``: a local web page (Gradio) to translate pictures and to start, watch,
stop and resume training, for users who never open a terminal."""
