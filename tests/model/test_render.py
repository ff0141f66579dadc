"""Rendered data: deterministic, covers the dictionary, honest splits."""
import numpy as np
import pytest

from model import fonts, ppocr_path, texts
from model.charset import Charset
from model.render import render

CS = Charset.from_file(ppocr_path.en_dict_path())
ALPHABET = "".join(sorted(CS.alphabet))


def test_dictionary_is_paddleocr_en_with_97_classes():
    assert len(CS.dict_chars) == 95 and CS.num_classes == 97
    assert CS.classes[0] == "blank" and CS.classes[-1] == " "
    assert CS.encode("Hi 5") == [CS.index["H"], CS.index["i"], 96, CS.index["5"]]


def test_render_is_a_pure_function_of_the_seed():
    font = fonts.find_fonts(ALPHABET)[0]
    a = render(np.random.default_rng([1, 2]), "Seeded", font, 1.0)
    b = render(np.random.default_rng([1, 2]), "Seeded", font, 1.0)
    c = render(np.random.default_rng([1, 3]), "Seeded", font, 1.0)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b)
    assert not (a.shape == c.shape and np.array_equal(a, c))


def test_at_least_eight_font_families_of_different_styles():
    fams = fonts.families(fonts.find_fonts(ALPHABET))
    assert len(fams) >= 8
    names = " ".join(p for paths in fams.values() for p in paths)
    for style in ("Serif", "Mono", "Condensed", "Bold", "Italic"):
        assert style in names, style


def test_training_text_covers_every_dictionary_character():
    sampler = texts.TextSampler(ALPHABET, "train")
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(4000):
        t = sampler.sample(rng, 1.0)
        assert 0 < len(t) <= 25 and t == t.strip()
        seen |= set(t)
    assert seen == set(ALPHABET)


def test_curriculum_start_is_short_plain_words():
    sampler = texts.TextSampler(ALPHABET, "train")
    rng = np.random.default_rng(1)
    words = [sampler.sample(rng, 0.0) for _ in range(200)]
    assert max(len(w) for w in words) <= 6
    vocabulary = {x.lower() for x in texts.load_words(ALPHABET)["train"]}
    assert all(w.lower() in vocabulary for w in words)


def test_split_words_are_disjoint():
    w = texts.load_words(ALPHABET)
    train, val, test = ({x.lower() for x in w[s]} for s in ("train", "val", "test"))
    assert len(val) > 2000 and len(test) > 2000
    assert not (train & val) and not (train & test) and not (val & test)


def test_eval_splits_have_no_random_character_strings():
    sampler = texts.TextSampler(ALPHABET, "val", exclude_random=True)
    assert all(k[1] != sampler.random_chars for k in sampler.kinds)
    with pytest.raises(Exception):
        texts.TextSampler(ALPHABET, "nonsense")
