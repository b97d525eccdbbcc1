"""Short answers: the expected type from the question's form, the entity from the cited seed sentences."""

from __future__ import annotations

import pytest

from newsdesk.index.store import ArticleStore
from newsdesk.service.domain import Citation
from newsdesk.service.query import QueryPipeline
from newsdesk.service.query.short_answer import expected_labels, short_answer

KREMLIN, CALL, NATO, CASUALTIES = "000_e20aa06bffcb7e36", "001_cbb8ff9536446ca1", "002_45b39b5889d0e37c", "003_f9095a6aa4cb8e46"


def cite(store: ArticleStore, n: int, article_id: str, needle: str) -> Citation:
    """Citation ``[n]`` of the stored sentence of ``article_id`` that contains ``needle``."""
    sentence = next(s for s in store.sentences(article_id) if needle in s.text)
    return Citation(n=n, article_id=article_id, chunk_id="c", start=sentence.start, end=sentence.end, quote=sentence.text)


@pytest.mark.parametrize("question, labels", [
    ("Who said 'we are also prepared for the worst'?", ("PERSON", "ORG", "NORP")),
    ("To whom did he write?", ("PERSON", "ORG", "NORP")),
    ("Where is the Kremlin?", ("GPE", "LOC", "FAC")),
    ("When did it end?", ("DATE", "TIME")),
    ("The war ended in what year?", ("DATE",)),
    ("What time will the call begin?", ("TIME", "DATE")),
    ("How many troops are massed near the border?", ("CARDINAL", "QUANTITY")),
    ("How many years did it last?", ("DATE", "CARDINAL")),
    ("How much did it cost?", ("MONEY", "PERCENT", "QUANTITY", "CARDINAL")),
    ("How long is the river?", ("DATE", "TIME", "QUANTITY")),
    ("How far is Kyiv from the border?", ("QUANTITY", "CARDINAL")),
    ("In which city were the talks held?", ("GPE",)),
    ("Which German companies won contracts?", ("ORG",)),
    ("What is the capital of France?", ("GPE",)),
    ("What was the name of the river?", ("LOC", "GPE")),
    ("What percentage of voters agreed?", ("PERCENT",)),
    ("What country's leader resigned?", ("PERSON",)),  # the head is the noun after the possessive
    ("What did Peskov say about the talks?", ()),
    ("What did the man who founded it say?", ()),  # only the first wh-word sets the form
    ("What caused the war?", ()),
    ("Why did the talks fail?", ()),
    ("How did he win?", ()),
    ("Did the talks fail?", ()),
])
def test_the_expected_types_follow_the_form_of_the_question(question: str, labels: tuple[str, ...]) -> None:
    assert expected_labels(question) == labels


def test_who_is_answered_by_the_person_nearest_the_question_words(seed_store: ArticleStore) -> None:
    citation = cite(seed_store, 1, NATO, "prepared for the worst")
    found = short_answer("Who said 'we are also prepared for the worst'?", [citation], seed_store.entities)
    assert found is not None and (found.text, found.label, found.n, found.article_id) == ("Jens Stoltenberg", "PERSON", 1, NATO)
    assert seed_store.article(NATO).raw_text[found.start:found.end] == found.text
    # "NATO" stands next to "worst", but a who-question wants a person before an organisation.


def test_the_head_noun_types_the_answer_and_the_question_own_names_are_never_the_answer(seed_store: ArticleStore) -> None:
    citation = [cite(seed_store, 1, NATO, "prepared for the worst")]
    found = short_answer("Which organization does Jens Stoltenberg lead?", citation, seed_store.entities)
    assert found is not None and (found.text, found.label) == ("NATO", "ORG")
    assert short_answer("Who is NATO Secretary General Jens Stoltenberg?", citation, seed_store.entities) is None


def test_among_entities_of_one_type_the_nearest_to_the_question_words_wins(seed_store: ArticleStore) -> None:
    citation = [cite(seed_store, 1, CASUALTIES, "6,374")]
    assert short_answer("How many civilians were killed?", citation, seed_store.entities).text == "6,374"
    assert short_answer("How many civilians were injured?", citation, seed_store.entities).text == "9,776"


def test_times_and_dates(seed_store: ArticleStore) -> None:
    citation = [cite(seed_store, 1, CALL, "20:30 GMT")]
    assert short_answer("What time will the call begin?", citation, seed_store.entities).text == "20:30 GMT"
    found = short_answer("When will the talks in Geneva take place?", citation, seed_store.entities)
    assert (found.text, found.label) == ("January", "DATE")


def test_a_possessive_ending_is_left_out(seed_store: ArticleStore) -> None:
    citation = cite(seed_store, 1, KREMLIN, "Joe Biden’s")
    found = short_answer("Whose readiness to continue talks did the Kremlin welcome?", [citation], seed_store.entities)
    assert found.text == "Joe Biden" and seed_store.article(KREMLIN).raw_text[found.start:found.end] == "Joe Biden"


def test_the_earliest_cited_sentence_with_a_candidate_answers(seed_store: ArticleStore) -> None:
    worst, call = cite(seed_store, 1, NATO, "prepared for the worst"), cite(seed_store, 2, CALL, "20:30 GMT")
    found = short_answer("Where will the talks be held?", [worst, call], seed_store.entities)  # [1] names no place
    assert (found.text, found.n, found.article_id) == ("Geneva", 2, CALL)
    assert short_answer("Who will take part in the talks?", [worst, call], seed_store.entities).n == 1


def test_no_short_answer_without_a_factoid_question_or_an_entity_of_its_type(seed_store: ArticleStore) -> None:
    citation = [cite(seed_store, 1, NATO, "prepared for the worst")]
    calls: list[str] = []

    def entities_of(article_id: str) -> list:
        calls.append(article_id)
        return seed_store.entities(article_id)

    assert short_answer("What did Stoltenberg say about the crisis?", citation, entities_of) is None
    assert short_answer("Why is NATO prepared for the worst?", citation, entities_of) is None
    assert calls == []  # not a factoid question: nothing is read
    assert short_answer("How much did the alliance spend?", citation, entities_of) is None
    assert short_answer("Who said it?", [], entities_of) is None


@pytest.mark.parametrize("question", ["Who?", "Where?", "When?", "How many?", "How much?", "What year?", "Which company?"])
def test_every_short_answer_is_its_article_text_inside_its_citation(seed_store: ArticleStore, question: str) -> None:
    answered = 0
    for article_id in seed_store.article_ids():
        raw = seed_store.article(article_id).raw_text
        for n, sentence in enumerate(seed_store.sentences(article_id), start=1):
            citation = Citation(n=n, article_id=article_id, chunk_id="c", start=sentence.start, end=sentence.end, quote=sentence.text)
            found = short_answer(question, [citation], seed_store.entities)
            if found is not None:
                answered += 1
                assert raw[found.start:found.end] == found.text and sentence.start <= found.start < found.end <= sentence.end
                assert found.label in expected_labels(question) and found.n == n
    assert answered


def test_the_pipeline_gives_a_factoid_question_a_verified_short_answer(seed_pipeline: QueryPipeline) -> None:
    answer = seed_pipeline.ask("Who said 'we are also prepared for the worst'?").answer
    short = answer.short_answer
    assert short is not None and "Stoltenberg" in short.text and short.label == "PERSON"
    cited = next(c for c in answer.citations if c.n == short.n)
    assert cited.article_id == short.article_id and cited.start <= short.start < short.end <= cited.end
    assert seed_pipeline.store.article(short.article_id).raw_text[short.start:short.end] == short.text
    assert answer.to_dict()["short_answer"] == {"text": short.text, "start": short.start, "end": short.end,
                                               "article_id": short.article_id, "n": short.n, "label": "PERSON"}
    other = seed_pipeline.ask("What did Peskov say about the talks?").answer
    assert other.short_answer is None and other.to_dict()["short_answer"] is None


@pytest.mark.parametrize("question, labels", [
    ("Police arrested 31 men who planned to riot at a parade this week. Where was the parade?", ("GPE", "LOC", "FAC")),
    ("Mr. Smith's firm was sold on Tuesday. Which company bought it?", ("ORG",)),
    ("A deal was struck. When will it take effect?", ("DATE", "TIME")),
])
def test_a_question_that_sets_a_scene_is_typed_by_its_asking_sentence(question: str, labels: tuple[str, ...]) -> None:
    assert expected_labels(question) == labels  # not by "who" or "which" of the scene, nor by the first word
