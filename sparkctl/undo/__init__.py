"""Undo what sparkctl did on the nodes: the network journal and the uninstall manifest."""
