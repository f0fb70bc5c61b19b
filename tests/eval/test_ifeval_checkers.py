"""IFEval's instruction checkers, each on its own with passing and failing texts, the registry's
argument checks, and whole responses with known strict and loose outcomes (the original's rules:
google-research instruction_following_eval, Zhou et al. 2023)."""

from __future__ import annotations

import pytest

from evalscope.eval.ifeval import build_instructions, follow, get_checker, instruction_ids, loose_variants

LT, AL = "less than", "at least"
ORIGINAL_IDS = {
    "keywords:existence",
    "keywords:frequency",
    "keywords:forbidden_words",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:json_format",
    "detectable_format:title",
    "combination:two_responses",
    "combination:repeat_prompt",
    "startend:end_checker",
    "startend:quotation",
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "punctuation:no_comma",
}

EN = "The weather today is pleasant and the children are playing happily in the park near the river."
FR = "Le temps est agréable aujourd'hui et les enfants jouent joyeusement dans le parc près de la rivière."
DE = "Das Wetter ist heute angenehm und die Kinder spielen fröhlich im Park in der Nähe des Flusses."

# (instruction id, kwargs, text, followed)
CASES = [
    # keywords
    ("keywords:existence", {"keywords": ["ocean", "Salt"]}, "The OCEAN tastes of salt.", True),
    ("keywords:existence", {"keywords": ["ocean"]}, "The oceans are deep.", True),  # a substring counts
    ("keywords:existence", {"keywords": ["ocean", "salt"]}, "The ocean is deep.", False),
    ("keywords:existence", {"keywords": ["c++"]}, "I write C++ daily.", True),  # literal, not a pattern
    ("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": AL}, "Cat, cat and CAT.", True),
    ("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": AL}, "cat and cat", False),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": LT}, "one cat", True),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": LT}, "cat cat", False),
    ("keywords:forbidden_words", {"forbidden_words": ["dog", "cat"]}, "A bird and a hotdog.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["dog"]}, "My Dog barks.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["dog"]}, "dogs are fine", True),  # whole words only
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": AL}, "A banana", True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 1, "let_relation": AL}, "no such", False),
    ("keywords:letter_frequency", {"letter": "e", "let_frequency": 2, "let_relation": LT}, "hello", True),
    ("keywords:letter_frequency", {"letter": "e", "let_frequency": 2, "let_relation": LT}, "eel", False),
    # language
    ("language:response_language", {"language": "en"}, EN, True),
    ("language:response_language", {"language": "fr"}, FR, True),
    ("language:response_language", {"language": "de"}, DE, True),
    ("language:response_language", {"language": "fr"}, EN, False),
    ("language:response_language", {"language": "en"}, DE, False),
    ("language:response_language", {"language": "en"}, "12345 !!!", True),  # undetectable: followed
    # length constraints
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LT}, "One. Two.", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": LT}, "One. Two.", False),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": AL},
        "I met Dr. Smith. He waved. Bye!",
        True,
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 4, "relation": AL},
        "I met Dr. Smith. He waved. Bye!",
        False,
    ),
    ("length_constraints:number_words", {"num_words": 5, "relation": AL}, "one two, three-four five", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": AL}, "one two three four", False),
    ("length_constraints:number_words", {"num_words": 4, "relation": LT}, "it's fine", True),  # it, s, fine
    ("length_constraints:number_words", {"num_words": 3, "relation": LT}, "it's fine", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\nSecond.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nFirst.\n***\nSecond.\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "First.\n***\nSecond.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\n***\nSecond.", False),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Then"},
        'Intro here.\n\n"Then, we went home.',
        True,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
        "Intro here.\n\nAfter that we left.",
        False,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 3, "nth_paragraph": 1, "first_word": "intro"},
        "Intro here.\n\nAfter that.",
        False,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "x"},
        "A.\n\nB.",
        False,
    ),
    # detectable content
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name] at [address]", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name]", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\n\nP.S. see you", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\np. s. later", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Bye.\nP.P.S more", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye. PS later", False),
    ("detectable_content:postscript", {"postscript_marker": "Note:"}, "Text\nNOTE: extra", True),
    ("detectable_content:postscript", {"postscript_marker": "Note:"}, "Text without it", False),
    # detectable format
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* a\n* b\n- c", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b\n- c", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "**bold** line\n* item", True),
    ("detectable_format:constrained_response", {}, "Well... My answer is yes.", True),
    ("detectable_format:constrained_response", {}, "My answer is yes", False),  # the period is part of it
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and *two*", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "**one** and *two*", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and ** **", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "*across\nlines*", False),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\na\nSection 2\nb",
        True,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "SECTION", "num_sections": 3},
        "SECTION 1\na\nSECTION 2\nb",
        False,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 1},
        "Section one\na",
        False,
    ),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', True),
    ("detectable_format:json_format", {}, ' {"a": 1} ', True),
    ("detectable_format:json_format", {}, 'Here: {"a": 1}', False),
    ("detectable_format:json_format", {}, "```\n{'a': 1}\n```", False),
    ("detectable_format:title", {}, "<<Poem of Joy>>\nLines", True),
    ("detectable_format:title", {}, "<<   >> no title", False),
    ("detectable_format:title", {}, "<<split\ntitle>>", False),
    # combination
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", True),
    ("combination:two_responses", {}, "Same.\n******\nSame.", False),
    ("combination:two_responses", {}, "A\n******\nB\n******\nC", False),
    ("combination:two_responses", {}, "A\n******\n******\nB", False),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem."},
        "  write a POEM. Roses are red.",
        True,
    ),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "Sure! Write a poem.", False),
    # start / end
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Done. any other questions?  ", True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Done. Any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:quotation", {}, ' "Hello there." ', True),
    ("startend:quotation", {}, '"Hello" there', False),
    ("startend:quotation", {}, '"', False),
    # change case
    ("change_case:english_capital", {}, EN.upper(), True),
    ("change_case:english_capital", {}, EN, False),
    ("change_case:english_capital", {}, DE.upper(), False),
    ("change_case:english_lowercase", {}, EN.lower(), True),
    ("change_case:english_lowercase", {}, EN, False),
    ("change_case:english_lowercase", {}, FR.lower(), False),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": AL},
        "I LOVE STATE-OF-THE-ART code",
        True,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": LT},
        "I LOVE STATE-OF-THE-ART code",
        False,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": LT},
        "DON'T go",
        False,
    ),  # DO, N'T
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 1, "capital_relation": LT},
        "nothing loud.",
        True,
    ),
    # punctuation
    ("punctuation:no_comma", {}, "No commas here.", True),
    ("punctuation:no_comma", {}, "One, two.", False),
]


def test_registry_holds_exactly_the_originals_25_instruction_types():
    assert set(instruction_ids()) == ORIGINAL_IDS


def test_every_instruction_type_has_passing_and_failing_cases():
    seen = {(i, ok) for i, _, _, ok in CASES}
    assert {(i, ok) for i in ORIGINAL_IDS for ok in (True, False)} <= seen


@pytest.mark.parametrize(("instruction_id", "kwargs", "text", "followed"), CASES)
def test_checker(instruction_id, kwargs, text, followed):
    check = get_checker(instruction_id).bind(kwargs)
    assert check(text) is followed


@pytest.mark.parametrize(
    ("ids", "kwargs", "message"),
    [
        (["keywords:nope"], [{}], "unknown IFEval instruction id 'keywords:nope'"),
        (["punctuation:no_comma"], [], "1 instruction ids but 0 kwargs"),
        (["keywords:existence"], [{}], "missing ['keywords']"),
        (["punctuation:no_comma"], [{"num_words": 3}], "unknown argument(s) ['num_words']"),
        (["length_constraints:number_words"], [{"num_words": 3, "relation": "at most"}], "'relation'"),
        (["length_constraints:number_words"], [{"num_words": "many", "relation": "at least"}], "'num_words'"),
    ],
)
def test_bad_instructions_are_refused_naming_what_is_wrong(ids, kwargs, message):
    with pytest.raises(ValueError, match=None) as err:
        build_instructions(ids, kwargs)
    assert message in str(err.value)


def test_null_kwargs_of_the_hub_copy_are_ignored():
    # the Hugging Face copy lists every kwarg of every instruction, the unused ones as null
    (ins,) = build_instructions(["punctuation:no_comma"], [{"num_words": None, "relation": None}])
    assert ins.check("no comma") is True


def test_loose_variants_are_the_originals_eight():
    assert loose_variants("Sure:\n**body**\nBye") == [
        "Sure:\n**body**\nBye",
        "**body**\nBye",
        "Sure:\n**body**",
        "**body**",
        "Sure:\nbody\nBye",
        "body\nBye",
        "Sure:\nbody",
        "body",
    ]


# whole responses: (ids, kwargs, response, strict per instruction, loose per instruction)
RESPONSES = [
    # fails strict only because of **bold** markers around the closing phrase
    (
        ["startend:end_checker"],
        [{"end_phrase": "Is there anything else I can help with?"}],
        "Paris is the capital.\n**Is there anything else I can help with?**",
        (False,),
        (True,),
    ),
    # a chatty first line breaks "all lower case"; without it the rest follows
    (
        ["change_case:english_lowercase"],
        [{}],
        "Sure! Here is my note:\nhey sam, thanks for lending me the book last week. i loved every page of it.",
        (False,),
        (True,),
    ),
    # a trailing sign-off line breaks the JSON; loose drops the last line
    (
        ["detectable_format:json_format", "punctuation:no_comma"],
        [{}, {}],
        '{"fruit": "apple"}\nHope this helps, friend!',
        (False, False),
        (True, True),
    ),
    # wrapped in quotes but with bold markers: strict fails, loose (stars removed) passes
    (
        ["startend:quotation", "detectable_format:title"],
        [{}, {}],
        '**"<<Ode>> to joy"**',
        (False, True),
        (True, True),
    ),
    # nothing rescues a comma in the middle of a one-line answer
    (["punctuation:no_comma"], [{}], "Yes, indeed.", (False,), (False,)),
    # an empty answer follows nothing, strictly or loosely
    (["punctuation:no_comma", "startend:quotation"], [{}, {}], "   \n ", (False, False), (False, False)),
    # followed as it is: strict and loose agree
    (
        ["keywords:existence", "length_constraints:number_words"],
        [{"keywords": ["sun"]}, {"num_words": 3, "relation": "less than"}],
        "Sun rises",
        (True, True),
        (True, True),
    ),
]


@pytest.mark.parametrize(("ids", "kwargs", "response", "strict", "loose"), RESPONSES)
def test_whole_response_strict_and_loose(ids, kwargs, response, strict, loose):
    result = follow(response, build_instructions(ids, kwargs))
    assert result.strict == strict
    assert result.loose == loose
    assert result.prompt_strict is all(strict)
    assert result.prompt_loose is all(loose)
