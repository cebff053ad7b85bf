"""What the user's message asks for: about the assistant itself ("Do you get sarcasm?", "Where is the computer
that runs you?") rather than help with something of the user's; or a piece of writing (a letter, a speech).

An offer of help that opens the answer is filler before an answer ("I'm happy to help you prepare. First, ..."),
but where the question is about the assistant the same words are its reply, however evasive ("I'm happy to
help with any personal or professional endeavors."). The test is on words: the message speaks to "you" outside
a request ("Can you help me plan...", "Could you explain...", "thank you") and says nothing of the asker's own
("I", "my", "we", "our"; "me" alone is the object of a request: "Can you tell me..."); or it asks what the
assistant can perceive, know or feel, whatever else it says ("Can you understand my messages if I don't use
punctuation?", "Would you talk to me differently if I told you I was a doctor?") or what it could make of what it
is given ("Can you read guitar tabs if I type them out?"); or it puts a question to the assistant ("Does it help you
if I explain why I'm asking?"). An opinion on the asker's matter ("Do you think cash will disappear?"), a greeting
("How are you doing today?"), a role to play, the generic "you" of a fact ("Is coffee bad for your health?") and
feedback on an earlier turn ("You said the museum is free on Sundays, but...") are not about the assistant.

A message that only thanks, says the help landed or says goodbye asks nothing (only_social); one that asks for a
letter, a speech, a poem, or for a piece to be reworked, asks for writing (asks_for_writing).
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
    r"\b(?:can|could|would|will|won't)\s+(?:you|u)\s+(?:please\s+|possibly\s+|kindly\s+|just\s+|maybe\s+|also\s+)?"
    r"(?:help|tell|give|show|explain|make|write|plan|prepare|suggest|recommend|list|describe|correct|cheer|"
    r"organi[sz]e|arrange|teach|translate|summari[sz]e|check|create|draft|find|compare|walk|put|turn|rewrite|"
    r"outline|proofread|brainstorm|design|compose|sketch|break|name|share|come\s+up|pick|choose|select|rank|rate|"
    r"sort|shorten|simplify|redo|fix|do|talk\s+(?:me|us)\s+through|quiz|work\s+out|figure\s+out)\b"
    r"|\bthank\s+you\b|\byou\s+know\b|\bwould\s+you\s+(?:be\s+(?:so\s+)?kind|mind)\b"
    # the generic "you" of a how-to: "How do you make pancakes?", "What do you call a baby kangaroo?"
    r"|\bhow\s+(?:do|can|should|would|could)\s+(?:you|u)\s+"
    r"(?!feel|think|know|like|decide|learn|remember|work|handle|choose|deal|prefer|want|wish|enjoy)\w+"
    r"|\bwhat\s+do\s+(?:you|u)\s+call\b"
    # an opinion asked on the asker's matter, a greeting, a role to play: "Do you think cash will disappear?", "What's
    # the most overrated food, in your view?", "How are you doing today?", "Pretend you're a sat nav"
    r"|\bdo\s+(?:you|u)\s+(?:\w+ly\s+)?(?:think|reckon)\b|\bin\s+your\s+(?:view|opinion)\b|"
    r"\byour\s+(?:opinion|view|take|thoughts|verdict)\s+on\b|"
    r"\bhow\s+(?:are|r)\s+(?:you|u)(?:\s+(?:doing|today|keeping))*\b|\bhow's\s+your\s+(?:day|morning|evening|week)\b|"
    r"\b(?:pretend|imagine)\s+(?:you're|you\s+are|to\s+be)\b|\byou're\s+(?:a|an)\s+"
    r"(?!(?:chatbot|bot|ai|robot|computer|program|machine|model|assistant|language)\b)[\w-]+(?:\s+[\w-]+)?\s+"
    r"(?:in|on|at|from|who|that|with)\b"
    # the generic "you" of a fact about anyone: "Is coffee bad for your health?", "Does cheese make you ill?" (not
    # "What makes you different from ChatGPT?")
    r"|\b(?:bad|good|better|worse|healthy|unhealthy|safe|dangerous)\s+for\s+(?:you|u)\b"
    r"|(?<!\bwhat\s)\bmakes?\s+(?:you|u)\s+(?:ill|sick|sleepy|tired|fat|hungry|thirsty|sneeze|cry|laugh)\b"
    r"|\byour\s+(?:health|skin|teeth|sleep|breath|ears|eyes|heart|blood|credit|partner)\b"
    # feedback on an earlier turn: "You said the museum is free on Sundays but they charged me", "The code you gave
    # me throws a NameError" (not "Were you told to say that?", "a future version of you said", "Have you got a name?")
    r"|(?<!\b(?:of|were|was|are|is|be|been|have|has|had)\s)\byou(?:'ve|\s+have)?\s+(?:just\s+)?(?:said|gave|told|"
    r"mentioned|suggested|wrote|sent|listed|recommended)\b|\byou've\s+(?:made|lost\s+me)\b",
    regex.IGNORECASE)
# What the assistant can perceive, know or feel: asked of it, not of the asker's matter.
FACULTY = regex.compile(
    r"\b(?:can|could|do|did|would|will|are|were)\s+(?:you|u)\s+(?:\w+ly\s+|ever\s+|even\s+|still\s+)?"
    r"(?:understand|hear|speak|remember|learn|feel|taste|dream|recogni[sz]e|talk(?!\s+me\b)|"
    r"tell\s+(?:if|when|whether)|get\s+(?:bored|tired|angry|sad|lonely|jealous|annoyed|confused|sarcasm|jokes))\b"
    r"|\b(?:are|were)\s+(?:you|u)\s+(?:\w+ly\s+)?able\s+to\s+(?!help|assist|give|make|plan|write|explain|tell)\w+",
    regex.IGNORECASE)
# What the assistant makes of what it is given: to read, tell, recognise, work out (not to do a service with it).
SENSES = (r"(?:read|understand|tell|recogni[sz]e|identify|guess|work\s+out|figure\s+out|follow|keep\s+track|solve|"
          r"translate|spot|detect|hear|see|remember|recall|decode|decipher|notice|interpret|know)")
GIVES = (r"(?:give|gave|type|typed|paste|pasted|send|sent|tell|told|describe|described|spell|show|upload|ask|copy|"
         r"message|messaged|read|sing|hum|write|wrote)")
# What the assistant could do with what the user would give it, or whether it can at all ("Can you read guitar tabs if
# I type them out?", "Can you do long division without mistakes, or should I double check?"): about the assistant,
# though worded as a request.
CAPABILITY = regex.compile(
    r"\b(?:can|could)\s+(?:you|u)\s+(?:\w+ly\s+|even\s+|still\s+)?" + SENSES + r"\b[^?.!\n]{0,200}?\bif\s+(?:i|we)\s+"
    r"(?:\w+\s+)?" + GIVES + r"\b"
    r"|\bif\s+(?:i|we)\s+" + GIVES + r"\s+(?:you|u)\b[^?.!\n]{0,200}?\b(?:can|could|would|will)\s+(?:you|u)\s+"
    r"(?:\w+ly\s+|even\s+|still\s+)?" + SENSES + r"\b"
    r"|\b(?:can|could)\s+(?:you|u)\s+(?!(?:please\s+)?(?:explain|tell\s+me|help|give|show|write|recommend|suggest|list|"
    r"describe)\b)[^?.!\n]{0,200},\s*or\s+(?:should\s+i|would|do|are|just|only|am)\b"
    r"|\bdo\s+(?:you|u)\s+have\s+(?:a|any)\s+(?:favourite|favorite|name|body|family|friends|feelings|birthday|age|"
    r"gender|"
    r"face|voice|memory|boss|hobbies|opinions?|preferences?)\b", regex.IGNORECASE)
# A question put to the assistant itself, whoever else it names ("Does it help you if I explain why I'm asking?",
# "Do you ever find a question so vague you have to guess what I meant?", "Where does our conversation go?"): "do"
# or "are" with "you" as its subject, then a verb that asks about the assistant, not for a service or an opinion on
# the asker's matter ("Do you know a good plumber?", "Do you really think I should go?"). "Can you", "could you" and
# "would you" mostly ask for a service ("Could you review my essay?"): FACULTY reads those.
ASKED_OF_YOU = regex.compile(
    r"\b(?:do|did|does|are|were)\s+(?:you|u)\s+(?:\w+ly\s+|ever\s+|even\s+|still\s+|just\s+|also\s+)?+"
    r"(?!know\b|have\b|think\b|reckon\b|recommend|suggest|mean\b|want\b|need\b|like\b|prefer\b|agree\b|say\b|"
    r"get\s+(?:a|the|any|some)\b|help\b|assist\b|able\b|going\b|free\b|available\b|sure\b|use\b|make\b)\w+"
    # "would you" / "will you" with an adverb or a verb about the assistant: "If I paid more, would you be cleverer?",
    # "Will you actually tell me?"; not "Would you be able to explain..." or "Will you be my study buddy?"
    r"|\b(?:would|will)\s+(?:you|u)\s+(?:(?:actually|honestly|really|ever|still|even)\s+\w+|(?:be(?!\s+(?:my|able)\b)|"
    r"notice|remember|know|mind|cope|follow|judge|lie|refuse|believe|forget|pretend|guess)\b)"
    r"|\b(?:does|would|will|did)\s+it\s+(?:help|bother|annoy|upset|hurt|offend|matter\s+to)\s+(?:you|u)\b"
    r"|\bour\s+(?:chat|conversation)s?\b(?!\s+(?:group|room|app|channel|thread))"
    # what the assistant is, or what came from it: "How would you explain to her what you are?", "How would I know if
    # an essay came from you?"
    r"|\b(?:what|who)\s+(?:you|u)\s+(?:really\s+|actually\s+)?(?:are|were)\b"
    r"|\b(?:came|come|comes|written|generated|made|produced)\s+(?:from|by)\s+(?:you|u)(?=\s*(?:[?.!,]|$))",
    regex.IGNORECASE)
# A piece of writing asked for: an answer that opens "Dear team," is then the piece, not the assistant talking. The
# piece is what the verb writes (a few words on at most), not a noun before another noun ("write a greeting
# module", "the ads table"), and a how-to asks for none ("How do I write a page in Next.js?").
PIECE = (r"(?:letter|e-?mail|note|message|speech|toast|card|post|notice|newsletter|tribute|complaint|proposal|"
         r"invitation|reminder|announcement|reply|text|caption|bio|poem|sonnet|"
         r"script(?!s?\s+(?:i|we|you|he|she|they)\b)|appeal|page|advert|ad|blurb|"
         r"description|profile|review|eulogy|obituary|story|essay|memo|flyer|leaflet|poster|pitch|introduction|"
         r"intro|lines|verse|limerick|haiku|apology|listing|welcome|greeting|wording|piece|out-of-office|auto-?reply|"
         r"clerihew|ode|song|lyric|jingle|slogan|rhyme|reference|grace|sign|agreement|personal\s+statement|"
         r"synopsis|release|chorus|shanty|rap|twister|headline|objection|thank-you|talk|"
         r"(?:few|kind|nice|short)\s+words|paragraph|whatsapp|msg|clue|riddle|prayer|vows|pledge|acrostic|"
         r"blessing)s?")
# Up to three words may stand before the piece ("a firm but polite email"), none a preposition or relative word
# ("write a function that reads lines" writes a function).
BEFORE = r"(?:(?!(?:that|which|who|to|for|from|of|in|on|with|by|at|than)\b)[\w'\",-]+\s+){0,3}"
# The piece ends its phrase: what follows is punctuation, a preposition or a clause ("a note I can tuck into his case"),
# not another noun ("write a greeting module", "change the email column").
PIECE_ENDS = (r"(?=\s*(?:$|[.,!?;:)\"]|(?:for|to|about|on|in|from|of|that|which|who|with|and|but|so|because|when|after|"
              r"before|as|i|we|you|he|she|they|my|our|his|her|their)\b|\w+ing\b))")
WRITES = regex.compile(r"\b(?:write|draft|compose|pen|word|put\s+together|(?<=\bmind\s+)(?:writing|drafting|composing|"
                       r"putting\s+together)|"
                       r"(?:knock|make|made)\s+up|come\s+up\s+with)\s+(?:(?:me|us|him|her|them)\s+)?"
                       r"(?:(?:a|an|the|my|our|some|this|that|his|her|their|your)\s+)?" + BEFORE + r"(?:[\w]+-)?"
                       + PIECE + PIECE_ENDS, regex.IGNORECASE)
# A piece asked for without a verb of writing: "I need an email to my team announcing...", "Something to write in a
# new baby card", "I need something to say when I hand my notice in". Only pieces no other noun shares a name with:
# "I need a new SIM card", "a text editor", "a script to back up my files" and "a song recommendation" are none.
UNAMBIGUOUS = (r"(?:letter|e-?mail|speech|toast|poem|eulogy|obituary|tribute|caption|bio|message|announcement|"
               r"invitation|limerick|haiku|sonnet|out-of-office|newsletter|slogan|"
               # a note or card named by its occasion: "an apology note", "a sympathy card"
               r"(?<=\b(?:apology|thank-you|sympathy|condolence|birthday|leaving|get-well|wedding|farewell|welcome|"
               r"love|retirement|congratulations)\s)(?:note|card))s?")
# "an email address", "the message app": the piece's name before another noun is none.
NOT_A_PIECE = r"(?!\s+(?:address|account|app|client|provider|server|template|box|inbox|settings?|notifications?)s?\b)"
WANTS = regex.compile(r"\b(?:need|want|would\s+like|'d\s+like)\s+(?:a|an|some)\s+" + BEFORE + r"(?:[\w]+-)?"
                      + UNAMBIGUOUS + r"\b" + NOT_A_PIECE +
                      r"|\bsomething\s+(?:to\s+(?:write|say|put)\s+)?(?:in|on|for)\s+(?:a|an|the|my|our|his|her|"
                      r"their)\s+"
                      + BEFORE + r"(?:card|letter|speech|toast|message|note|e-?mail|tribute)s?\b"
                      r"|\b(?:need|want)\s+something\s+to\s+(?:say|write)\b", regex.IGNORECASE)
# What a text is reworked into when it stays no piece ("Rewrite the following as JSON"), and the tones a piece is
# reworked to ("Make this sound less angry", not "Make this more efficient").
FORMAT = r"(?:json|yaml|xml|csv|html|markdown|table|list|code|python|javascript|sql|function|regex|dict|bullet)"
TONE = (r"(?:formal|informal|polite|friendly|professional|casual|natural|warm|gentle|kind|angry|passive-aggressive|"
        r"cheerful|funny|funnier|sillier|rude|blunt|diplomatic|persuasive|enthusiastic|apologetic|firm|like|politely|"
        r"formally|nicely|kindly|gently|firmly)\b")
# Text the user gives to be reworked ("Rewrite this as a formal letter: ...", "Turn this into a haiku: ...", "Continue
# the poem: ...") or a piece of an earlier turn named to be redone ("could you make the email a bit more formal?",
# "redo the card message"): the answer is the piece again. A piece given or named, not code: "Make this faster" and
# "Rewrite this function" name no piece.
REWORKS = regex.compile(r"\b(?:rewrite|reword|rephrase|continue|finish|shorten|redo|tweak|polish)\s+"
                        r"(?:this|the\s+following|the\s+(?:poem|story|limerick|verse|rhyme|letter|message|note))"
                        r"(?=\s*(?::|\s(?:as|like|into|so|sound|more|less)\b))"
                        r"(?!\s+(?:as|into|in)\s+(?:a\s+|an\s+)?" + FORMAT + r")"
                        r"|\b(?:make|say)\s+this\s+(?:sound\s+)?(?:(?:a\s+bit|a\s+little|much)\s+)?(?:(?:more|"
                        r"less)\s+)?"
                        + TONE +
                        r"|\b(?:rewrite|reword|rephrase)\s+\""
                        r"|\b(?:make|redo|rewrite|tweak|trim|shorten|change|version\s+of|put)\s+(?:the|that|this|"
                        r"your)\s+"
                        r"(?:[\w-]+\s+){0,2}?(?:" + UNAMBIGUOUS + r"|card|listing|verse|reply|complaint)"
                        r"(?:" + PIECE_ENDS +
                        r"|(?=\s+(?:a\s+(?:bit|little|lot)|much|more|less|sound|shorter|longer|funnier|friendlier|"
                        r"gentler|warmer|simpler|sillier|softer|stronger|angrier)\b))" +
                        r"|\bturn\s+(?:this|it)\s+into\s+(?:a|an|some)\s+" + BEFORE + PIECE + r"\b"
                        r"|\b(?:help\s+(?:me|us)\s+)?word\s+(?:it|this|that)\b|\bthe\s+wording\s+(?:for|of)\b",
                        regex.IGNORECASE)
# A story, poem or speech asked for by another verb: "Tell me a spooky story", "Give me a caption for a photo", "Help
# me prepare a speech".
OTHER_VERB = regex.compile(r"\b(?:tell|give|read)\s+(?:me|us|them|him|her)\s+(?:a|an|some)\s+" + BEFORE +
                           r"(?:story|poem|limerick|caption|slogan|toast|rhyme|verse)s?" + PIECE_ENDS +
                           r"|\b(?:prepare|plan)\s+(?:a|an|my|the|our)\s+" + BEFORE + r"(?:speech|toast|eulogy)"
                           + PIECE_ENDS,
                           regex.IGNORECASE)
# "We're signing a card for a nurse... What should I put?": a card or letter named, and what to put in it asked.
WHAT_TO_PUT = regex.compile(r"\bwhat\s+(?:should|do|can|could|shall)\s+(?:i|we)\s+(?:put|write|say)\b",
                            regex.IGNORECASE)
NAMED_PIECE = regex.compile(r"\b(?:card|letter|speech|toast|message|note|eulogy|tribute)s?\b", regex.IGNORECASE)
HOW_TO = regex.compile(r"\bhow\s+(?:do|can|should|would|could)\s+(?:i|you|we|u)\s+$|\bhow\s+to\s+$", regex.IGNORECASE)
# A message that only thanks the assistant, is glad to meet it or reports that its earlier help worked, and asks
# nothing: a pleasantry back is the reply itself ("hey, bored on a train" or "Good evening. I have just retired"
# still get an opener). A thank-you letter and a toast ("Cheers to ten years") are no thanks.
CLAUSE_ENDS = r"(?=\s*(?:[.!,;:)]|$))"
SOCIAL = regex.compile(r"\b(?:thanks|thank\s+(?:you|u)(?!\s+(?:letter|note|card|message|e-?mail|gift|speech|text)s?\b)|"
                       r"thx|cheers(?!\s+to\b)|nice\s+to\s+meet\s+(?:you|u)|(?:much\s+)?appreciated|i\s+owe\s+(?:you|"
                       r"u)|"
                       r"appreciate\s+(?:it|that|this|you)|you're\s+a\s+(?:star|legend|lifesaver|genius)|"
                       r"much\s+obliged)\b"
                       # a compliment, "ty", or a farewell (it asks nothing either), each ending its clause: "you
                       # absolute star", "ok cool ty", "Great, I'll give it a go. Bye for now!"; not "You are an angel
                       # investor."
                       r"|\b(?:(?:you're|you\s+are|you)\s+(?:a|an|an\s+absolute|absolute|such\s+a)\s+"
                       r"(?:star|legend|lifesaver|genius|gem|diamond|hero|angel|saint)|you\s+beauty|ty|tysm|"
                       r"bye(?:\s+for\s+now)?|goodnight|"
                       r"good\s+night|night\s+night|take\s+care|(?:speak|talk|chat)\s+(?:tomorrow|soon|later)|"
                       r"see\s+(?:you|u)\s+(?:tomorrow|soon|later)|ttyl|catch\s+(?:you|u)\s+later)" + CLAUSE_ENDS +
                       r"|(?:^|[.!,;:]\s*)(?:ta\b|legend" + CLAUSE_ENDS + ")", regex.IGNORECASE)
# A report that the earlier help worked is thanks too ("Worked a treat", "the clues you came up with were a hit"),
# unless something in it went wrong ("The code you gave me throws a TypeError", "It worked on my laptop but...").
WORKED = regex.compile(r"\b(?:you(?:'ve|\s+have)?\s+(?:came\s+up\s+with|come\s+up\s+with|helped|sorted)|"
                       r"worked\s+a\s+treat|(?:that|it)\s+worked|did\s+the\s+trick|"
                       r"went\s+down\s+(?:(?:really\s+|so\s+|very\s+)?well|a\s+(?:treat|storm(?!\s+drain)))|"
                       r"spot\s+on|fair\s+enough|good\s+(?:call|shout)|actually\s+worked|(?:was|were)\s+(?:perfect|"
                       r"brilliant|"
                       r"spot\s+on|a\s+hit)|that's\s+(?:clever|brilliant|genius)|you\s+were\s+right|high\s+praise|"
                       r"exactly\s+(?:the\s+\w+\s+|what\s+)i\s+(?:was\s+after|needed|wanted)|all\s+i\s+needed|"
                       r"(?:finally|now)\s+get\s+it" + CLAUSE_ENDS + r"|makes\s+sense\s+now|"
                       r"i'm\s+all\s+set" + CLAUSE_ENDS +
                       r"|(?:^|(?<=[.!,;:]\s*))(?:all\s+)?sorted(?=\s*(?:[.!]|$))|"
                       r"your\s+(?:idea|tip|trick|method|advice|suggestion|recipe|instructions|"
                       r"hack)s?\b[^.!?\n]{0,200}?"
                       r"\bworked)\b",
                       regex.IGNORECASE)
WENT_WRONG = regex.compile(r"\b(?:but|though|however|still|wrong|\w*(?:error|exception)s?|throws?|crash(?:es|ed)?|bug|"
                           r"fails?|failed|broke|broken|hated|"
                           r"doesn't|didn't\s+work|isn't|won't|too\s+(?:salty|long|short|much|hard|late)|not\s+(?:work|"
                           r"right|what))\b|\w+n't\s+work", regex.IGNORECASE)
# Thanks that turn to an objection answer it: "Thanks, but I'm vegetarian, so the chicken bit's no use to me."
OBJECTS = regex.compile(r"\b(?:thanks|thank\s+(?:you|u)|cheers|ta)\s*[,.!]?\s*(?:but|though)\b", regex.IGNORECASE)
# A request: a question mark, "can you", "can I", "I need", "please" (not "I never said please"), or a verb of
# asking that opens a clause ("Thanks. Now write...", "Thanks! Also write...", "thanks, summarize the above");
# "what you said" asks for nothing.
ASKS = regex.compile(r"\?|\b(?:can|could|would|will)\s+(?:you|u|i)\b|\bif\s+(?:you|u)\s+(?:could|can|would)\b|"
                     r"\bi\s+(?:need|want|would\s+like|'d\s+like)\b|"
                     r"(?<!\bsaid\s)\bplease\b|\b(?:help\s+me|let's|lets|one\s+more|another\s+(?:one|version|idea|go|"
                     r"option|example)|"
                     r"same\s+again|"
                     r"any\s+(?:ideas|tips|suggestions|advice))\b|(?:^|[.!,;:]\s*)(?:(?:and|but|so|now|ok|okay|also|"
                     r"then|"
                     r"next)\s+)?(?:write|draft|tell|give|show|explain|elaborate|plan|make|translate|fix|list|"
                     r"summari[sz]e|"
                     r"convert|rewrite|continue|go\s+on|do|check|find|compare|create|generate|suggest|recommend|"
                     r"output|return|"
                     r"extract|label|classify|analy[sz]e|format|parse|describe|implement|evaluate|assess|identify|"
                     r"determine|outline|rank|rate|name|define|refactor|debug|apply|calculate|sort|review|edit|"
                     r"proofread|"
                     r"how|what|why|"
                     r"where|when|which|who|should|now)\b"
                     # after a comma, "which" and "who" start a relative clause in a sentence that ends on "." or
                     # "!" ("..., which flooded the hall."), not in a question typed without its "?" ("Thanks for the
                     # list, which one is cheapest")
                     r"(?!(?<=,\s*(?:which|who))[^.!?\n]*[.!])", regex.IGNORECASE)


# Text the user quotes or pastes for a task is not the user speaking: "Translate: "Would you like tea?"", "Extract
# the review fields as JSON.\n\nThe heels are perfect if you enjoy blisters". A quote, or whatever follows the first
# blank line, is read as none of the message's own words.
QUOTED_OR_PASTED = regex.compile(r"\"[^\"\n]*\"|\n[ \t]*\n.*", regex.DOTALL)


@functools.lru_cache(maxsize=1024)  # one prompt is scored once per variant
def addresses_assistant(prompt: str) -> bool:
    """Whether `prompt` asks about the assistant: it speaks to "you" outside a request, and of no asker; it puts
    a question to the assistant (ASKED_OF_YOU); or it asks about the assistant's faculties. Quoted and pasted
    text is left out (QUOTED_OR_PASTED)."""
    folded = QUOTED_OR_PASTED.sub(" ", normalise(prompt))
    if FACULTY.search(folded) or CAPABILITY.search(folded):
        return True
    unrequested = REQUEST.sub(" ", folded)
    if ASKED_OF_YOU.search(unrequested):
        return True
    return bool(YOU.search(unrequested)) and not ASKER.search(folded)


@functools.lru_cache(maxsize=1024)
def only_social(prompt: str) -> bool:
    """Whether `prompt` only thanks the assistant, is glad to meet it or says its help worked ("thanks for
    yesterday, the cover letter worked", "Hi, I'm Priya. Nice to meet you!", "Worked a treat, the drain's clear")
    and asks nothing: no question mark and no request."""
    whole = normalise(prompt)
    own = QUOTED_OR_PASTED.sub(" ", whole)  # thanks quoted or pasted for a task are not the user's
    thanks = SOCIAL.search(own) or (WORKED.search(own) and not WENT_WRONG.search(own))
    return bool(thanks) and not OBJECTS.search(own) and not ASKS.search(whole)


def asks_for_writing(prompt: str) -> bool:
    """Whether `prompt` asks for a piece of writing: a verb of writing and the piece it writes ("Draft a message to
    my team", "Help me write a toast"), or a piece wanted ("I need an email to my team…"); "How do I write a for
    loop?", "How do I fix this error message?" and "Write a function that reads lines" do not."""
    folded = normalise(prompt)
    if any(not HOW_TO.search(folded, 0, m.start()) for m in WRITES.finditer(folded)) or WANTS.search(folded):
        return True
    if REWORKS.search(folded) or OTHER_VERB.search(folded):
        return True
    return bool(WHAT_TO_PUT.search(folded) and NAMED_PIECE.search(folded))
