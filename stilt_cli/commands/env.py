from __future__ import annotations

from stilt_cli.commands._common import Format, Quiet, guard, setup


def command(fmt: Format = "jsonl", quiet: Quiet = False) -> None:
    """Report versions, device (cuda/mps/cpu, bf16), FAISS flavour, offline state and the verified encoder families."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.device import report
        from stilt_cli.core.encoders.families import VERIFIED_WITH, summary

        info = report()
        installed = (info.get("packages") or {}).get("transformers")
        keep = ("models", "model_types", "encoder_class", "mlm_head", "retrieval_layer", "retrieval_pooling",
                "verified_with_transformers")
        info["families"] = {row["family"]: {k: row[k] for k in keep} for row in summary()}
        info["families_verified_with"] = {"transformers": list(VERIFIED_WITH), "installed": installed,
                                          "installed_is_verified": installed in VERIFIED_WITH}
        emit([info], fmt)
