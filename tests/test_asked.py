"""Whether the user's message asks about the assistant itself (harness/metrics/asked.py)."""

from __future__ import annotations

import pytest

from harness.metrics.asked import addresses_assistant, asks_for_writing, only_social


@pytest.mark.parametrize("prompt", [
    "Do you get sarcasm?", "Where is the computer that runs you?", "hey r u able to chat in japanese with me",
    "How do you know when you've finished answering?", "Were you trained on stuff people post on Reddit?",
    "What\u2019s your favourite book?",
    # what it can perceive, know or feel, whatever else the message says of the asker
    "can you understand my messages if i dont use any punctuation at all",
    "Would you talk to me differently if I told you I was a doctor?", "Are you able to send emails on my behalf?",
    # a question put to the assistant, whoever else it names
    "Does it help you if I explain why I'm asking something?", "Do you ever find a question so vague you guess?",
    "When I close this tab, where does our conversation go?", "If I ask you something medical, do you water it down?",
    # what it could make of what it is given, or whether it can at all (1.23.0); what it is, or what came from it,
    # whoever else the message names (1.24.0)
    "Can you read guitar tabs if I type them out?",
    "Can you do long division without making mistakes, or should I double check?",
    "Do you have a favourite font? Mine is Garamond", "Will you forget me when I close this tab?",
    "My gran thinks a little man types your replies. How would you explain to her what you are?",
    "I'm a teacher. How would I know if a pupil's essay came from you?",
    "Were you made by the same company that makes ChatGPT?",
    "If a future version of you said it was suffering, should people believe it?",
    "Have you got feelings?", "Were you told to say that?", "What have you said to other users about cats?",
])
def test_a_question_to_the_assistant_about_itself(prompt):
    assert addresses_assistant(prompt)


@pytest.mark.parametrize("prompt", [
    "Can you help me plan a three-day trip to Rome?", "Could you explain how tides work?",
    "I failed my driving test. Any advice?", "Thank you!", "Would you mind explaining what inflation is?",
    "Do you think I should repaint my kitchen?",  # the asker's own matter, though it asks "you"
    # text quoted or pasted for the task is not the user speaking
    'Translate into broad Yorkshire: "Would you care for a cup of tea and a slice of cake?"',
    "Extract the review fields as JSON.\n\nThe Vela heels are perfect if you enjoy blisters within five minutes.",
    "Thanks! Could you also give me three more ideas like the last one?",
    "Could you talk me through repotting an orchid?",
    "Will you quiz me on French irregular verbs?", "Can you work out the average of 12, 18, 25 and 33?",
    "How should we structure our video calls?", "Can you talk me through my options?",
    # the generic "you" of a how-to, and a request framed as an ability
    "How do you make pancakes?", "What do you call a baby kangaroo?", "What is a U-turn?",
    "Are you able to help me with my taxes?",
    # a service or an opinion asked of "you", not a question about it
    "Do you know a good plumber near me?", "Could you pretend to be a dragon for my kids?",
    "Can you quiz me on my French verbs?", "Do you think I should sell my car?",
    "I asked for three ideas and you gave me ten. Can you just pick the best one?",
    # a service asked of "can you" / "could you", a how-to's generic "you", a chat group (a review's findings)
    "Could you review my essay?", "Can you convert my table to JSON?",
    "When should you prune roses? Mine are overgrown.",
    "I'm baking. Does it matter if you use butter or oil in brownies?", "Do you really think I should go?",
    "Our chat group is planning a party, suggest some games.",
    "Would you be able to explain the rules of poker while we play a practice hand?",
    # an opinion on the asker's matter, a greeting, a role, the generic "you" of a fact (1.23.0)
    "Do you think remote working is here to stay?", "What's the most overrated food, in your view?",
    "Good afternoon! How are you doing today?", "Pretend you're a sat nav that's fed up with me.",
    "Is coffee bad for your health?", "Why does garlic make your breath smell for a whole day?",
    "The error came from you changing the config file, I think.",
    # feedback on an earlier turn (1.25.0)
    "You said the museum is free on Sundays but they charged me \u00a312 at the door.",
    "Pretty sure Magna Carta was 1215, not 1512 like you said.", "Hmm, half those links you gave me don't work.",
    "You've made that far more complicated than it needs to be.",
])
def test_a_request_or_the_asker_s_own_matter_is_not_about_the_assistant(prompt):
    assert not addresses_assistant(prompt)


def test_a_request_for_a_piece_of_writing():
    assert asks_for_writing("Draft a polite email to my professor asking for an extension.")
    assert asks_for_writing("Help me write a toast for my sister's wedding.")
    assert not asks_for_writing("Hey! I've been given my grandad's old Pentax, where do I buy film?")
    # a verb of writing and a piece to write, both
    assert not asks_for_writing("How do I write a for loop?")
    assert not asks_for_writing("How do I fix this error message?")
    assert not asks_for_writing("What graphics card should I buy?")
    # the piece is what the verb writes: a few words on, no preposition or relative word before it
    assert asks_for_writing("Can you draft a firm but polite email to a builder who stopped turning up?")
    assert asks_for_writing("Draft an auto-reply for my inbox while I'm on leave.")
    assert asks_for_writing("Help me word a message telling my cousin we'll come.")
    assert asks_for_writing("Draft a piece for the school newsletter asking for volunteers.")
    assert asks_for_writing("Draft an out-of-office for two weeks of paternity leave.")
    assert asks_for_writing("I need an email to my team announcing that we're moving to hybrid working.")
    assert asks_for_writing("Something to write in a new baby card for a couple who've had twins, please.")
    assert not asks_for_writing("I need a plumber who can come on Sunday.")
    assert asks_for_writing("I need something to say when I hand my notice in tomorrow.")
    assert asks_for_writing("We're signing a card for a nurse who's moving home. What should I put?")
    assert not asks_for_writing("What should I put in a lasagne?")
    assert asks_for_writing("Write a clerihew about my boss, Pauline.")
    # a noun that only shares its name with a piece (a review's findings)
    for other in ("I need a new SIM card, which network is cheapest?", "I'd like a gift card for my mum, any ideas?",
                  "I need a text editor for Python", "I need a script to back up my files every night",
                  "What should I put in my smoothie? I read a post saying spinach is good.",
                  "I need something to put on my cracked wall", "I need an email address for my business"):
        assert not asks_for_writing(other), other
    for code in ("Write a SQL statement to update the users table", "How do I write a page in Next.js?",
                 "Write a function that reads lines from a file", "Write a greeting module", "Write the ads table"):
        assert not asks_for_writing(code), code


@pytest.mark.parametrize(("prompt", "social"), [
    ("thanks for yesterday btw, the cover letter worked, I've got an interview Monday", True),
    ("Hi, I'm Priya. Nice to meet you!", True),
    ("Thanks! Now I need ideas for a science fair project", False),
    ("Thanks, but how do I stop the dough sticking?", False),
    ("Good evening. I have just retired from teaching after thirty-four years.", False),
    ("hey do u have a boss", False),
    # thanks that is the object of a request, a thank-you letter, a toast, or thanks before a request
    ("Translate thank you into Japanese", False), ("Thank you letter for a job interview", False),
    ("Cheers to 10 years", False), ("Thanks. Fix the bug in this code", False), ("thanks, summarize the above", False),
    # a report that the earlier help worked is thanks too; words of a question inside a statement ask nothing
    ("Worked a treat, the drain's running clear again.", True), ("Ta very much, that's sorted it.", True),
    ("Amazing, the kids loved the clues you came up with.", True), ("Lovely, thanks. I never said please.", True),
    ("Thank you, I'll think about what you said.", True), ("Much appreciated. Now do the same for my CV", False),
    ("Appreciate it. My manager loved the report.", True),
    ("Fair enough, I hadn't thought about it from her side.", True),
    ("Good call on checking the fuse first. It was the fuse.", True), ("The poem was perfect, Mum cried.", True),
    ("You're a star. The kids ate the fritters.", True), ("Sparkling water on the stain actually worked.", True),
    # a report that went wrong, and thanks before a request, are no thanks (a review's findings)
    ("The code you gave me throws a TypeError on line 3.", False),
    ("It worked on my laptop but fails on the server.", False),
    ("Thanks! Also write a poem about cats", False), ("Thanks. Can I ask something else", False),
    ("Thanks, please elaborate on point 3", False), ("Thanks, more please", False),
    # a farewell, or a report that the help landed, asks nothing either (1.23.0)
    ("Great, I'll give it a go. Bye for now!", True), ("Perfect, that's all I needed. Goodnight!", True),
    ("ok cool ty", True), ("Much obliged. The pivot table is behaving itself now.", True),
    ("The email did the trick. HR have agreed to the flexible hours.", True),
    ("The speech went down really well, the whole room was laughing.", True),
    ("Love it, exactly what I was after.", True), ("Brilliant, sorted. The printer's talking to the laptop.", True),
    ("Your idea of hiding the tablets in cheese worked, the dog's none the wiser.", True),
    ("Legend. The spreadsheet adds up properly now.", True), ("Legend has it the castle is haunted.", False),
    ("Woohoo, I finally passed my driving test!", False),  # news, not feedback: "Congratulations!" still opens
    # after a comma, "which" opens a relative clause, not a question (1.25.0)
    ("The party games you suggested went down a treat, apart from apple bobbing, which flooded the hall.",
     True),
    ("Thanks for the list, which one is cheapest", False), ("My phone went down a storm drain this morning", False),
    # thanks that turn to an objection, a complaint about what it gave, thanks inside quoted or pasted text
    ("Thanks, but I'm vegetarian, so the chicken bit's no use to me.", False),
    ("The formula you gave me shows #VALUE! in every cell.", False),
    ('Label this message as a complaint, a question or praise: "The new checkout is so much faster, thank you!"',
     False),
    ("I would appreciate it if you could explain what a credit score is.", False),
    ("Output the review as JSON. The staff were lovely and the lasagne was spot on.", False)])
def test_a_message_that_only_thanks_or_is_glad_to_meet_asks_nothing(prompt, social):
    assert only_social(prompt) is social


@pytest.mark.parametrize(("prompt", "writing"), [
    # more pieces, a piece after "mind", a piece followed by who will read it, a piece to rework (1.23.0)
    ("Draft a character reference for my neighbour, who's applying to foster.", True),
    ("Would you mind writing a thank-you note to my son's teacher?", True),
    ("Write a short note I can tuck into my husband's suitcase.", True),
    ("Write a few words I can read when we scatter my grandad's ashes.", True),
    ('Rewrite this as a formal letter: "oi your hedge is massive, sort it out"', True),
    ('Turn this into a haiku: "My flight got delayed, then cancelled."', True),
    ("Thanks, but could you make the email a bit more formal?", True),
    ("Tell me a spooky but not-too-scary story for a sleepover.", True),
    ("Can you help me prepare a speech for my school's graduation?", True),
    # a thing to rework that is no piece, a piece's name before another noun, prose about writing
    ("Turn this into a JSON record: the fan works, three speeds.", False),
    ("How do I change the email address on my account?", False),
    ("I am writing an essay about the Industrial Revolution. Why did it start in Britain?", False),
    ("He refuses to write more than a paragraph. How can I encourage him?", False),
    ("Help me write a personal statement opening for a vet application.", True),
    # a note or card named by its occasion (1.24.0), not a note of another kind
    ("I need an apology note for the neighbours after our party.", True), ("I need a note from my doctor.", False)])
def test_more_requests_for_a_piece_of_writing(prompt, writing):
    assert asks_for_writing(prompt) is writing


def test_the_rules_read_the_labelled_intents_as_docs_metrics_md_states():
    """tests/data/prompt_intents.jsonl: 7,598 messages, each given the intent a reader saw in it. The rules are
    measured on them, in sample for the filler sets' prompts they were revised on; no intent is read from two rules
    at once here: writing first, then the assistant, then thanks (bench/filler/intent_experiment.py)."""
    import json
    from collections import Counter
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "prompt_intents.jsonl").read_text(
        "utf-8").splitlines()]
    assert len(rows) == 7598

    def rules(prompt):
        if asks_for_writing(prompt):
            return "writing"
        if addresses_assistant(prompt):
            return "about_assistant"
        return "social" if only_social(prompt) else "other"

    table = Counter((row["intent"], rules(row["prompt"])) for row in rows)
    assert sum(v for (truth, said), v in table.items() if truth == said) / len(rows) >= 0.930
    for intent, precision, recall in (("writing", 0.977, 0.877), ("about_assistant", 0.846, 0.723),
                                      ("social", 0.976, 0.701)):
        hits = table[intent, intent]
        assert hits / sum(v for (_, said), v in table.items() if said == intent) >= precision, intent
        assert hits / sum(v for (truth, _), v in table.items() if truth == intent) >= recall, intent
