"""Model signatures (OpenSSF model-signing) and the signed evidence of release decisions.

* :mod:`releasegate.signing.trust` - the trusted signers an environment names in the (base)
  policy pack: public keys, certificate identities under a CA, Sigstore identities.
* :mod:`releasegate.signing.bundle` - a signature bundle read with bounds, before any crypto.
* :mod:`releasegate.signing.model` - verify a model's bundle against those signers and bind it
  to the release's sha256 (and to the file, when it is at hand).
* :mod:`releasegate.signing.backend` - the only module that imports ``model_signing`` (the
  ``[sign]`` extra), lazily.

Nothing here imports ``model_signing`` at import time: ``releasegate validate`` without
signers never needs it.
"""
