"""``releasegate verify`` output: text for people, JSON (releasegate/verify-result/v1) for programs."""
from __future__ import annotations

import json

from releasegate.evidence.verify import SCHEMA_VERSION, VerifyResult


def text(result: VerifyResult) -> str:
    lines = [f"{p.file}{f':{p.line}' if p.line else ''}: error [{p.check}] {p.message}"
             + (f"\n    hint: {p.hint}" if p.hint else "") for p in result.problems]
    signers = sorted({r.signer for r in result.records})
    where = result.evidence_ref or (f"folder {result.evidence_dir}" if result.evidence_dir else "no evidence branch found")
    summary = (f"{len(result.records)} evidence record(s) verified ({where}"
               + (f"; signed by {', '.join(signers)}" if signers else "") + f"), "
               f"{len(result.signatures)} model signature(s) verified")
    if not result.evidence_configured:
        summary += "; evidence.signers is not set in the policy pack, so no record can be trusted"
    if result.ok:
        lines.append(f"OK: {summary}")
    else:
        lines.append(f"FAILED: {len(result.problems)} problem(s); {summary}")
    return "\n".join(lines) + "\n"


def to_json(result: VerifyResult) -> str:
    return json.dumps({
        "schemaVersion": SCHEMA_VERSION,
        "ok": result.ok,
        "ref": result.ref,
        "evidenceRef": result.evidence_ref,
        "evidenceConfigured": result.evidence_configured,
        "records": [{"file": r.file, "environment": r.environment, "model": r.model, "version": r.version,
                     "commit": r.commit, "signer": r.signer, "predicateTypes": list(r.statements),
                     "verificationResult": r.verdict} for r in result.records],
        "signatures": [{"file": f, "signer": s} for f, s in result.signatures],
        "problems": [p.as_dict() for p in result.problems],
    }, indent=2, sort_keys=True) + "\n"
