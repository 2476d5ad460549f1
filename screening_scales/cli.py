"""Command line for the scales (click, no Flask); the app mounts it as `flask scales`."""

from __future__ import annotations

import json
import os
import sys

import click

from .errors import AnswerError, ScaleDefinitionError, UnknownProfile, UnknownScale
from .loader import default_registry, load_registry
from .scoring import score


def _emit(obj):
    click.echo(json.dumps(obj, ensure_ascii=False))


def _default_lang():
    return "en" if os.environ.get("LANG", "").lower().startswith("en") else "zh"


def _registry(ctx):
    """The registry for this invocation: shipped scales plus any --extra-dir directories."""
    root = ctx.find_root()
    if "scales_registry" not in root.meta:
        group_ctx = ctx.parent if ctx.parent is not None else ctx
        extra = group_ctx.params.get("extra_dir") or ()
        root.meta["scales_registry"] = load_registry(extra_dirs=list(extra)) if extra \
            else default_registry()
    return root.meta["scales_registry"]


def _error_text(exc):
    if isinstance(exc, (UnknownScale, UnknownProfile)):
        return str(exc)
    return exc.args[0] if exc.args else str(exc)


@click.group("scales")
@click.option("--extra-dir", multiple=True, type=click.Path(file_okay=False),
              envvar="SCALES_EXTRA_DIRS", help="Also load *.yaml scales from this directory "
              "(e.g. instance/scales); may be repeated.")
def scales_cli(extra_dir):
    """List, show and score screening questionnaires."""


@scales_cli.command("list")
@click.pass_context
def list_command(ctx):
    """Print one JSON object per scale text: code, version, items, names, what its Chinese text is (a centre's
    text has a text id), and its cut-off profiles."""
    for scale in _registry(ctx).all_texts():
        _emit({"code": scale.code, "version": scale.version, "items": scale.item_count,
               "names": {"zh-CN": scale.name("zh"), "en": scale.name("en")},
               "translation": scale.translation.status if scale.translation else None, "text": scale.text_id,
               "profiles": [p.code for p in scale.profiles]})


@scales_cli.command("show")
@click.argument("code")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language (default from LANG: en* -> English, else Chinese).")
@click.option("--text", "text_id", default=None, help="A centre's text of the scale (its text id, from `list`).")
@click.pass_context
def show_command(ctx, code, lang, text_id):
    """Print a scale, readable, in the user's language, with what its Chinese text is and its cut-off profiles."""
    lang = lang or _default_lang()
    try:
        scale = _registry(ctx).get_text(code, text_id)
    except UnknownScale as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{scale.name(lang)}  [{scale.code} v{scale.version}]")
    click.echo(scale.instructions(lang))
    click.echo("")
    last_options = None
    for item in scale.items:
        options = tuple((o.value, o.label(lang)) for o in item.options)
        if options != last_options:
            click.echo("  " + "  ".join(f"{v} = {label}" for v, label in options))
            last_options = options
        click.echo(f"{item.number:>3}. {item.text(lang)}")
    click.echo("")
    click.echo(("Source: " if lang == "en" else "来源：") + scale.source)
    click.echo(("Licence: " if lang == "en" else "许可：") + scale.licence)
    if scale.translation:
        click.echo(("Chinese text: " if lang == "en" else "中文文本：")
                   + f"{scale.translation.status} - {scale.translation.provenance}")
    for profile in scale.profiles:
        click.echo(("Cut-off profile " if lang == "en" else "切分方案 ")
                   + f"{profile.code}: {profile.threshold} · {profile.name(lang)} · {profile.population_text(lang)} · "
                   f"{profile.citation}" + (f" · {profile.accuracy}" if profile.accuracy else ""))


def _parse_answers(text):
    answers = []
    for part in text.split(","):
        part = part.strip()
        if part == "":
            answers.append(None)
            continue
        try:
            answers.append(int(part))
        except ValueError:
            raise AnswerError(f"answer {part!r} is not an integer") from None
    return answers


@scales_cli.command("score")
@click.argument("code", required=False)
@click.argument("answers", required=False)
@click.option("--jsonl", is_flag=True, help='Read {"id", "scale", "answers"} lines from stdin.')
@click.option("--profile", default=None, help="Band with this cut-off profile (default: the international bands).")
@click.pass_context
def score_command(ctx, code, answers, jsonl, profile):
    """Score CODE 0,1,2,... (empty field = missing), or JSON lines from stdin with --jsonl."""
    registry = _registry(ctx)
    if jsonl:
        ok = True
        for lineno, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            rid = None
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise AnswerError("line is not a JSON object")
                rid = rec.get("id")
                if "scale" not in rec or "answers" not in rec:
                    raise AnswerError("line needs 'scale' and 'answers'")
                result = score(rec["scale"], rec["answers"], registry=registry, profile=rec.get("profile", profile))
                _emit({"id": rid, **result.to_dict()})
            except (ValueError, AnswerError, UnknownScale, UnknownProfile) as exc:
                ok = False
                _emit({"id": rid, "error": f"line {lineno}: {_error_text(exc)}"})
        ctx.exit(0 if ok else 1)
    if code is None or answers is None:
        _emit({"error": "usage: scales score CODE 0,1,2,... or scales score --jsonl"})
        ctx.exit(1)
    try:
        result = score(code, _parse_answers(answers), registry=registry, profile=profile)
    except (AnswerError, UnknownScale, UnknownProfile, ScaleDefinitionError) as exc:
        _emit({"error": _error_text(exc)})
        ctx.exit(1)
    _emit(result.to_dict())


if __name__ == "__main__":  # pragma: no cover
    scales_cli()
