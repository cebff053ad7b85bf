"""What the user's message asks for: about the assistant itself ("Do you get sarcasm?", "Where is the computer
that runs you?") rather than help with something of the user's; or a piece of writing (a letter, a speech).

An offer of help that opens the answer is filler before an answer ("I'm happy to help you prepare. First, ..."),
but where the question is about the assistant the same words are its reply, however evasive ("I'm happy to
help with any personal or professional endeavors."). The test is on words: the message speaks to "you" outside
a request ("Can you help me plan...", "Could you explain...", "thank you") and says nothing of the asker's own
("I", "my", "we", "our"; "me" alone is the object of a request: "Can you tell me..."), or it asks what the
assistant can perceive, know or feel, whatever else it says ("Can you understand my messages if I don't use
punctuation?", "Would you talk to me differently if I told you I was a doctor?").
"""

from __future__ import annotations

import functools

import regex

from harness.metrics.lexicon import normalise

YOU = regex.compile(r"(?<![\w-])(?:you|your|yours|yourself|yourselves|u|ur|you're|you've|youre|you'd|you'll)(?![\w-])",
                    regex.IGNORECASE)
ASKER = regex.compile(r"\b(?:i|my|mine|myself|we|us|our|ours|i'm|i've|i'd|i'll|im|we're|we've|we'd|we'll)\b",
                      regex.IGNORECASE)
# "you" in these asks for something done, or is politeness; it does not ask about the assistant.
REQUEST = regex.compile(
    r"\b(?:can|could|would|will|won't)\s+(?:you|u)\s+(?:please\s+|possibly\s+|kindly\s+|just\s+|maybe\s+)?"
    r"(?:help|tell|give|show|explain|make|write|plan|prepare|suggest|recommend|list|describe|correct|cheer|"
    r"organi[sz]e|arrange|teach|translate|summari[sz]e|check|create|draft|find|compare|walk|put|turn|rewrite|"
    r"outline|proofread|brainstorm|design|compose|sketch|break|name|share|come\s+up)\b"
    r"|\bthank\s+you\b|\byou\s+know\b|\bwould\s+you\s+(?:be\s+(?:so\s+)?kind|mind)\b"
    # the generic "you" of a how-to: "How do you make pancakes?", "What do you call a baby kangaroo?"
    r"|\bhow\s+(?:do|can|should|would|could)\s+(?:you|u)\s+"
    r"(?!feel|think|know|like|decide|learn|remember|work|handle|choose|deal|prefer|want|wish|enjoy)\w+"
    r"|\bwhat\s+do\s+(?:you|u)\s+call\b",
    regex.IGNORECASE)
# What the assistant can perceive, know or feel: asked of it, not of the asker's matter.
FACULTY = regex.compile(
    r"\b(?:can|could|do|did|would|will|are|were)\s+(?:you|u)\s+(?:\w+ly\s+|ever\s+|even\s+|still\s+)?"
    r"(?:understand|hear|speak|remember|learn|feel|taste|dream|recogni[sz]e|talk(?!\s+me\b)|"
    r"tell\s+(?:if|when|whether)|get\s+(?:bored|tired|angry|sad|lonely|jealous|annoyed|confused|sarcasm|jokes))\b"
    r"|\b(?:are|were)\s+(?:you|u)\s+(?:\w+ly\s+)?able\s+to\s+(?!help|assist|give|make|plan|write|explain|tell)\w+",
    regex.IGNORECASE)
# A piece of writing asked for: an answer that opens "Dear team," is then the piece, not the assistant talking.
WRITE = regex.compile(r"\b(?:write|draft|compose|pen)\b", regex.IGNORECASE)
PIECE = regex.compile(r"\b(?:letter|e-?mail|note|message|speech|toast|card|post|notice|newsletter|tribute|complaint|"
                      r"proposal|invitation|reminder|announcement|reply|text|caption|bio|poem|sonnet|script|appeal|"
                      r"page|advert|ad|blurb|description|profile|review|eulogy|obituary|story|essay|statement|memo|"
                      r"flyer|leaflet|poster|pitch|introduction|intro|lines|verse|limerick|haiku|apology|update|"
                      r"listing|welcome|greeting)s?\b", regex.IGNORECASE)
# A message that only thanks the assistant or says it is nice to meet it, and asks nothing: a pleasantry back is the
# reply itself ("hey, bored on a train" or "Good evening. I have just retired" still get an opener).
SOCIAL = regex.compile(r"\b(?:thanks|thank\s+(?:you|u)|thx|cheers|nice\s+to\s+meet\s+(?:you|u))\b", regex.IGNORECASE)
ASKS = regex.compile(r"\?|\b(?:need|want|help\s+me|can|could|would|will|please|how|what|why|where|when|which|who|"
                     r"should|ideas?|suggest|recommend|write|draft|tell|give|show|explain|plan|make|let's|lets)\b",
                     regex.IGNORECASE)


@functools.lru_cache(maxsize=1024)  # one prompt is scored once per variant
def addresses_assistant(prompt: str) -> bool:
    """Whether `prompt` asks about the assistant: it speaks to "you" outside a request, and of no asker; or
    it asks about the assistant's faculties."""
    folded = normalise(prompt)
    if FACULTY.search(folded):
        return True
    return bool(YOU.search(REQUEST.sub(" ", folded))) and not ASKER.search(folded)


def only_social(prompt: str) -> bool:
    """Whether `prompt` only thanks the assistant or is glad to meet it ("thanks for yesterday, the cover letter
    worked", "Hi, I'm Priya. Nice to meet you!") and asks nothing: no question mark and no word of a request."""
    folded = normalise(prompt)
    return bool(SOCIAL.search(folded)) and not ASKS.search(folded)


def asks_for_writing(prompt: str) -> bool:
    """Whether `prompt` asks for a piece of writing: a verb of writing and a piece to write ("Draft a message to my
    team", "Help me write a toast"); "How do I write a for loop?" and "How do I fix this error message?" do not."""
    return bool(WRITE.search(prompt) and PIECE.search(prompt))
