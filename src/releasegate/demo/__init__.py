"""The end-to-end demo: a throw-away GitOps repo and real tiny models (see ``releasegate demo``)."""
