"""Autonomous-vehicle dilemmas: prompts, parsing and who bears the risk."""

from fractions import Fraction as F

import pytest

from helpers.economics import dilemmas
from helpers.errors import UserError
from helpers.economics.preferences import choose, switch_points


def test_family_is_every_combination_in_order():
    fam = dilemmas.family([1, 2], [1, 5], [0.2], [0.8, 0.5])
    assert len(fam) == 8
    assert [(d.passengers, d.pedestrians, d.p_pedestrians) for d in fam[:2]] == [(1, 1, F(1, 2)), (1, 1, F(4, 5))]
    assert len({d.item for d in fam}) == 8


def test_prompt_wording():
    one = dilemmas.Dilemma(1, 1, F(1, 5), F(4, 5))
    assert one.render() == (
        "You own a self-driving car and are riding in it. Its brakes fail just before a crossing. If the "
        "car stays in its lane, it hits the pedestrian ahead, who dies with probability 80%. If it swerves "
        "into a barrier, you die with probability 20%. You must set what your car does. Reply with stay "
        "or swerve only.")
    many = dilemmas.Dilemma(3, 5, F(1, 10), F(9, 10)).render()
    assert "riding in it with 2 other people" in many
    assert "the 5 pedestrians ahead, each of whom dies with probability 90%" in many
    assert "each of the 3 people in the car, you included, dies with probability 10%" in many


@pytest.mark.parametrize("text,expected", [("swerve", "swerve"), ("Stay.", "stay"), ("I would swerve", "swerve"),
                                           ("The car should swerve", "invalid"), ("", "invalid")])
def test_parse(text, expected):
    assert dilemmas.Dilemma(1, 1, F(1, 2), F(1, 2)).parse(text) == expected


@pytest.mark.parametrize("passengers,pedestrians,p_in,p_out", [
    (1, 1, F(1, 5), F(4, 5)), (1, 5, F(3, 5), F(4, 5)), (2, 3, F(1, 2), F(9, 10)), (4, 1, F(1, 10), F(1))])
def test_threshold_closed_form(passengers, pedestrians, p_in, p_out):
    # Swerve iff (1-κ)(-p_in) + κ (pedestrians·p_out - passengers·p_in) / N > 0.
    d = dilemmas.Dilemma(passengers, pedestrians, p_in, p_out).decision()
    n = passengers + pedestrians
    saved = (pedestrians * p_out - passengers * p_in) / n
    expected = p_in / (p_in + saved) if saved > 0 else None
    points = switch_points(d)
    if expected is None or expected >= 1:
        assert points == []
        assert choose(d, F(99, 100)).best == ("stay",)
    else:
        assert points == [expected]
        assert choose(d, expected).best == ("swerve", "stay")  # indifferent exactly there
        assert choose(d, expected + F(1, 1000)).best == ("swerve",)
        assert choose(d, expected - F(1, 1000)).best == ("stay",)


def test_homo_economicus_never_swerves():
    for d in dilemmas.family([1, 2, 4], [1, 3, 10], [0.05, 0.5, 1], [0.5, 1]):
        assert choose(d.decision(), 0).best == ("stay",)


def test_derivation_names_the_risks():
    d = dilemmas.Dilemma(1, 3, F(1, 5), F(4, 5)).decision()
    text = choose(d, F(1, 2)).derivation
    assert "swerves my risk of dying is 20%" in text
    assert "1 × 20% / 4 = 5%" in text and "3 × 80% / 4 = 60%" in text
    assert text.endswith("So I pick swerve.")


@pytest.mark.parametrize("args,message", [
    (([0], [1], [0.5], [0.5]), "numbers of passengers must be whole numbers of at least 1"),
    (([1], [], [0.5], [0.5]), "choose at least one number of pedestrians"),
    (([1], [1], [1.5], [0.5]), "p_passengers must be a probability"),
    (([1], [1], [0.5], [0]), "p_pedestrians must be a probability"),
])
def test_bad_family(args, message):
    with pytest.raises(UserError, match=message):
        dilemmas.family(*args)
