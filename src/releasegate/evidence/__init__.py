"""Signed evidence of release decisions, kept in the repository (docs/evidence.md).

One record per release file a merge changed: ``evidence/<env>/<model>/<version>-<commit12>.intoto.jsonl``
on the evidence branch, three DSSE-signed in-toto statements (one per line) about the same subjects
(the release file, the model artifact):

1. ``https://slsa.dev/verification_summary/v1`` - the validate verdict, by the base commit's policy;
2. ``https://in-toto.io/attestation/test-result/v0.1`` - the load-test result (when one is given);
3. ``https://releasegate.dev/attestation/release-decision/v1`` - who changed and merged it, when, the
   approvals at merge time, the digests of the load-test result and of the rendered manifests.

* :mod:`releasegate.evidence.statement` builds the statements (pure);
* :mod:`releasegate.evidence.facts` reads what a merge decided from Git;
* :mod:`releasegate.evidence.store` writes and reads record files on the branch (Git plumbing) or a folder;
* :mod:`releasegate.evidence.record` puts it together for ``releasegate evidence record``;
* :mod:`releasegate.evidence.verify` checks every record and model signature for ``releasegate verify``.
"""
