"""Helpers shared by the scale tests."""

from screening_scales.loader import DATA_DIR


def answers_for_total(scale, total, avoid=()):
    """Answers (option values) whose scored total is `total`, using `avoid` items last."""
    scored = list(scale.scored_items)
    order = [n for n in scored if n not in avoid] + [n for n in scored if n in avoid]
    scores = {n: scale.items[n - 1].min_value for n in scored}
    remaining = total - sum(scores.values())
    assert remaining >= 0
    for n in order:
        item = scale.items[n - 1]
        add = min(item.max_value - scores[n], remaining)
        scores[n] += add
        remaining -= add
    assert remaining == 0, "total out of range"
    answers = []
    for item in scale.items:
        if item.number in scores:
            s = scores[item.number]
            answers.append(item.min_value + item.max_value - s
                           if item.number in scale.reversed_items else s)
        else:
            answers.append(item.min_value)
    return answers


def write_yaml(path, data):
    import yaml
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def shipped_data(name):
    import yaml
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
