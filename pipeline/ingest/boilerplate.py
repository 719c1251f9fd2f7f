"""Line rules for scraped plain text: what a line is when it is not article text, and why.

Each rule looks at one line alone and is small, named and documented; `line_reason` runs them in
order and returns the first reason that applies (`share`, `byline`, `chrome`, `newsletter`, `promo`,
`credit`, `caption`, `recommended`, `related`, `date`), or None for a line that may be article text.
The rules that need the lines around a line (captions above a credit, repeats, link lists) live in
`text.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.ingest.lines import Line

_I = re.IGNORECASE

# --- vocabulary ----------------------------------------------------------------------------------

_AGENCIES = (
    r"AP|AFP|EPA|Reuters|REUTERS|Getty(?: Images)?|GETTY(?: IMAGES)?|Shutterstock|Alamy|Xinhua|AAP|"
    r"Anadolu(?: Agency)?|ZUMA(?: Press)?|Zuma(?: Press)?|NurPhoto|SOPA Images|Bloomberg|iStock(?:photo)?|"
    r"Associated Press|PA(?: Images| Wire)?|Corbis|Sipa|Rex Features|WireImage|Invision"
)
_CREDIT_WORDS = r"(?:Photo(?:graph)?s?|Image|Picture|Pic|Illustration|Credit|Video|Source)"
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_SOCIAL = (
    r"facebook|twitter|x|linkedin|whatsapp|messenger|pinterest|reddit|pocket|flipboard|tumblr|"
    r"instagram|youtube|telegram|email|e-mail|mail|print|copy|link|sms|google\+?|rss|feeds?"
)

# --- credits and captions ------------------------------------------------------------------------

#: A photo credit alone on a line: "Photograph: Tim Robberts/Getty Images", "Image copyright EPA",
#: "Image source, Reuters",
#: "(Photo by Jane Doe/Getty Images)", "Sanjeev Verma/Hindustan Times/Getty Images", "Getty Images".
_CREDIT_LINE = re.compile(
    rf"^\(?(?:{_CREDIT_WORDS}(?:\s+illustration)?\s*(?:copyright|credit|source|by|courtesy(?: of)?|:|©)"
    rf"|courtesy of\b|©)"
    rf"|^\(?(?:{_AGENCIES})(?:\s+Photo)?\s*(?:/|\)?$)"
    rf"|^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){{0,3}}\s*/\s*[A-Z]"
)
#: A name ending in an agency: "AFP via Getty Images", "Jane Doe for Reuters".
_AGENCY_END = re.compile(rf"\b(?:{_AGENCIES})\)?$")
_CREDIT_GLUE = frozenset(["via", "for", "and", "of", "the", "/", "|", "-"])

#: A credit at the end of a caption, after its last sentence: ". TAYLOR BRANDON/GETTY IMAGES",
#: ".CreditKirsten Luce for The New York Times", ". Photograph: Adrian Malloch", ". REUTERS/Name",
#: " (Manu Fernandez/AP)", " [File: Reuters]", " (Reuters)".
_CREDIT_TAIL = re.compile(
    r"(?:[.!?”\"’]\s*(?:(?:Credit|Photograph|Photo)\s*:?|(?:Image|Picture|Illustration|Video|Source)\s*"
    r"(?:copyright|credit|by|:))\s*[A-ZÀ-Ý][^.!?]{0,80}"
    r"|[.!?”\"’]\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4}\s*/\s*[A-Z][\w.'’& /-]{1,60}"
    rf"|\s[\[(](?:[^\[\]()]{{0,60}}[/:]\s*)?(?:{_AGENCIES}|File|Photo|Pool)[^\[\]()]{{0,40}}[\])])\s*$"
)

#: A line introducing a caption or a gallery: "Image caption ...", "Media caption...", "Caption",
#: "Image", "View Photos", "1 of 24".
_CAPTION_LABEL = re.compile(
    r"^(?:(?:image|media|photo|video)\s*caption|(?:caption|image|photo|picture|gallery)(?:\s*\d+(?:\s*of\s*\d+)?)?"
    r"\s*:?$|view photos|buy photo|full ?screen|autoplay|enlarge this image|(?:toggle|hide|show) caption|"
    r"\d+ of \d+$|\d+ photos$)",
    _I,
)
#: Where the picture is, the way captions of several pictures start: "Clockwise from top: ...",
#: "From left, ...", "Above, the skull ...", "Top: ...", "Pictured: ...".
_PICTURE_PLACE = re.compile(
    r"^(?:clockwise from\b|from (?:left|right|top)\b|(?:top|bottom|above|below|left|right|inset|"
    r"pictured|main image|main picture|top image)\s*(?:left|right)?\s*[,:])",
    _I,
)


#: The furniture of a picture gallery: "1 of 12", "View Photos", "Full Screen", "Gallery: ...".
_GALLERY_MARKER = re.compile(
    r"^(?:\d+\s*(?:of|/)\s*\d+|view (?:photos|gallery|slideshow)|full ?screen|autoplay|\d+ (?:photos|images)|"
    r"gallery\b.*|slideshow\b.*)$",
    _I,
)


def is_gallery_marker(line: Line) -> bool:
    """'1 of 12', 'View Photos', 'Full Screen', 'Gallery: ...': the furniture of a picture gallery."""
    return line.n_words <= 12 and bool(_GALLERY_MARKER.match(line.text))


def credit_tail(text: str) -> str | None:
    """The photo credit that ends a caption line, or None."""
    match = _CREDIT_TAIL.search(text)
    return match.group(0) if match else None


def is_credit_line(line: Line) -> bool:
    """A short line that is only a photo credit."""
    if line.n_words > 10 or line.ends_sentence:
        return False
    if _CREDIT_LINE.match(line.text):
        return True
    words = line.text.strip("()").split()
    return bool(_AGENCY_END.search(line.text)) and all(w[:1].isupper() or w in _CREDIT_GLUE for w in words)


def is_caption_label(line: Line) -> bool:
    """'Image caption ...', 'Caption', 'View Photos', '1 of 24': the start of a caption or gallery."""
    return line.n_words <= 30 and bool(_CAPTION_LABEL.match(line.text))


# --- related links and promos --------------------------------------------------------------------

#: A label that opens a list of links to other stories: "More:", "Read more", "Related stories",
#: "More from Sportsnet", "Recommended from our partners", "What to Read Next", "Most Read".
_RELATED_LABEL = re.compile(
    r"^(?:(?:read|see|watch)\s+(?:more|also|next|this next)|related(?:\s+\w+)?|"
    r"more(?:\s+(?:from|in|on|about|of|stories|news|videos?|articles?|coverage|reading|to explore|"
    r"like this)\b.*)?|(?:more|latest|top|breaking)\b[\w&’' ]{0,30}\bnews|recommended\b.*|"
    r"you (?:may|might) (?:also )?like|also (?:read|see|on)\b.*|"
    r"(?:most|top)\s+(?:read|popular|viewed|shared|stories)\b.*|what to read next|next up\b.*|"
    r"latest(?:\s.*)?\s(?:news|stories|headlines|videos?|articles?)|(?:editor'?s|our) picks|"
    r"trending(?: now| stories| topics)?|(?:most )?popular(?: now| stories| articles)?|top stories|"
    r"further reading|(?:from )?around the web|elsewhere on\b.*|.*\bmore)\s*:?$",
    _I,
)
#: A line that is itself a link to another story: "Related: ...", "[Read: ...]", "(Graphic: ... here)",
#: "Gallery: Xbox One X | 14 Photos", "Map: ...", "Watch: ...".
_RELATED_LINE = re.compile(
    r"^(?:\[.*\]|\((?:graphic|chart|map|video|photos?|interactive|watch|read|see|listen)\b.*\)|"
    r"(?:related|read|read more|see also|also read|more|gallery|photos|map|graphic|interactive|video|"
    r"watch|listen|podcast)\s*:.*)$",
    _I,
)
_NEWSLETTER = re.compile(
    r"\bnewsletters?\b|\binbox\b|\bin your (?:e-?mail|mail)?\s?box\b|^(?:sign up|subscribe|register)\b|"
    r"\bemail address\b",
    _I,
)
_PROMO = re.compile(
    r"^(?:advertisement|advertising|advertiser content|sponsored(?: content| by)?|"
    r"paid (?:partner|content|post)|"
    r"promoted(?: by)?|partner content|skip ad|ad choices|powered by\b|presented by\b|in partnership with\b|"
    r"brought to you by\b|shop now|buy now|donate\b|support (?:us|our journalism)|contribute\b|"
    r"(?:get|try) (?:the|our) app|download (?:the|our) app)",
    _I,
)

# --- credits, bylines, dates ---------------------------------------------------------------------

_CREDIT_NOTE = re.compile(
    r"^(?:produced (?:in association )?with|(?:additional )?reporting by|editing by|edited by|"
    r"written and produced by|this (?:article|story|report) (?:was|first|originally)|"
    r"a version of this (?:article|story)|copyright\b|source\s*:|©)|contributed to this (?:report|story)|"
    r"\bReporting by\b.*\bEditing by\b",
    _I,
)
_BYLINE = re.compile(
    r"^(?i:by|words by|written by|(?:medically |fact[- ])?(?:reviewed|checked) by|posted by|updated by|"
    r"story by|text by|report by)\s+[A-Z@]",
)
#: An author note: "Jane Doe is a reporter covering ...", "Ben Silverman is on Twitter at ...".
_AUTHOR_NOTE = re.compile(
    r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3}(?:\s+\([^)]*\))?\s+(?:is|was|has been)\s+(?:a|an|the|on|"
    r"based|currently|also)\b.*\b(?:reporter|writer|editor|correspondent|contributor|columnist|journalist|"
    r"twitter|freelance)\b",
    _I,
)
#: A contributor line: "Caroline Hawley, BBC diplomatic correspondent".
_NAME_ROLE = re.compile(
    r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3},\s+[^.!?]{0,60}\b(?i:correspondent|editor|reporter|writer|"
    r"analyst|producer|contributor|columnist)$"
)
#: How to reach the author: "Contact Jane Doe at jane@example.com", "Follow him on Twitter".
_CONTACT = re.compile(
    r"^(?i:contact|follow|email|reach|write to)\s+(?:the (?:author|reporter|writer)|him|her|them|"
    r"[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})\s+(?:at|on|via|@)\b"
)
_DATE = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}\b|"
    rf"\b{_MONTHS}\s+\d{{1,2}}\b|\b\d{{1,2}}[:.]\d{{2}}\s*(?:[ap]\.?m\.?|GMT|UTC|ET|EST|EDT|BST|CET)?\b|"
    r"\b\d+\s*(?:s|m|h|d|min|mins|minutes?|hours?|hrs?|days?|weeks?)\s+ago\b|"
    r"\b(?:updated|published|posted|last modified)\b",
    _I,
)
_READ_TIME = re.compile(r"^\d+\s*(?:min(?:ute)?s?)\.?\s*read$", _I)

# --- site chrome ---------------------------------------------------------------------------------

_CHROME = re.compile(
    r"^(?:skip to\b|jump to\b|back to top|(?:main )?menu$|search(?:$|\s+(?:the|this|form|jobs|results))|"
    r"log ?in\b|sign ?in\b|sign ?out|register$|my account|close(?:$|\s+(?:share|panel|menu|window))|"
    r"open\b.*\bmenu|toggle\b|home(?:page)?$|accessibility\b|privacy (?:policy|notice|settings)|"
    r"terms (?:of|&|and) (?:use|service|sale|conditions)|cookie|contact us|about us|site ?map|help$|faq$|"
    r"rss\b|follow us\b|"
    r"all rights reserved|\d+\s*comments?$|view comments|show comments|comments?$|reply$|"
    r"leave a (?:comment|reply)|join the (?:conversation|discussion)|report (?:a|this)\b|loading\b|"
    r"we use cookies|by (?:clicking|continuing|using|choosing)\b|your video will play|"
    r"(?:this|the) (?:video|content|feature) (?:is|requires)\b|"
    r"(?:story|article) continues|continue reading|scroll (?:down )?to continue|click here\b|"
    r"(?:play|watch) (?:the )?video$|video$|listen to (?:this|the) (?:article|story)|now playing|up next$)",
    _I,
)
_TECH_NOTICE = re.compile(
    r"\b(?:unsupported on your device|enable javascript|javascript is disabled|your browser|"
    r"open in a new (?:window|tab)|external links?|cookies? (?:policy|settings)|(?:privacy|cookie) policy|"
    r"terms of (?:use|service|sale)|all rights reserved)\b",
    _I,
)
#: Tag and topic lists: "In this article: av, consoles, ...", "Tags: ...", "Filed under: ...".
_TAGS = re.compile(
    r"^(?:tags|topics|filed under|categories|in this (?:article|story)|related topics)\s*:", _I
)
_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|\bcopyright\s+(?:©\s*)?\d{4}|all rights reserved", _I)
_COMMENTS = re.compile(
    r"^(?:(?:view|show|read|hide|load)\s+(?:all\s+)?\d*\s*comments?|comments?(?:\s*\(\d+\))?|"
    r"\d+\s+comments?|leave a (?:comment|reply)|post a comment|add a comment|join the (?:conversation|"
    r"discussion)|comment\s*\*|discussion policy|conversation guidelines)\s*:?$",
    _I,
)
_SHARE_LINE = re.compile(
    rf"^(?:share|sharing)(?:$|\s+(?:this|on|via|with|to|the|article|story|page|options|all|panel|link)\b.*)|"
    rf"^(?:tweet|pin it|reblog|save|email|print|more options)$|"
    rf"^(?:(?:share|post) (?:on|via|to) )?(?:{_SOCIAL})(?:\s*(?:share|tweet))?$",
    _I,
)
_URLISH = re.compile(r"https?://|www\.|%2F|\.(?:com|org|net|co\.uk)\b|@\w", _I)


def has_link(line: Line) -> bool:
    """A URL, a domain name or an @handle in the line."""
    return bool(_URLISH.search(line.text))


def is_copyright(line: Line) -> bool:
    return line.n_words <= 60 and bool(_COPYRIGHT.search(line.text))


def is_comments_marker(line: Line) -> bool:
    """The start of a reader-comments section: nothing after it is article text."""
    return line.n_words <= 6 and bool(_COMMENTS.match(line.text))


def is_related_label(line: Line) -> bool:
    """A short label that opens a list of links to other stories."""
    return line.n_words <= 6 and not line.ends_sentence and bool(_RELATED_LABEL.match(line.text))


def is_date_line(line: Line) -> bool:
    """A dateline or timestamp: 'Nov. 21, 2019', '20 Nov 2019 08:00 GMT', '2H ago', 'Updated ...'."""
    if line.n_words > 14 or not _DATE.search(line.text):
        return False
    # A date inside a sentence is text; a date line is mostly date words, numbers and names.
    return not line.ends_sentence or (line.n_words <= 8 and _DATE.match(line.text) is not None)


def is_byline(line: Line) -> bool:
    """'By Jane Doe', 'Written by ...', 'Jane Doe, BBC correspondent', an author note or how to
    reach the author."""
    if line.n_words <= 20 and not line.ends_sentence and _BYLINE.match(line.text):
        return True
    if line.n_words <= 25 and _CONTACT.match(line.text):
        return True
    if line.n_words <= 16 and _NAME_ROLE.match(line.text):
        return True
    return line.n_words <= 70 and bool(_AUTHOR_NOTE.match(line.text))


def is_name_like(line: Line) -> bool:
    """Two to four capitalised words and nothing else: a person's or an outlet's name."""
    words = line.text.split()
    return (
        2 <= len(words) <= 4
        and not line.ends_sentence
        and all(w[:1].isupper() for w in words if w.isalpha() or w[:1].isalpha())
        and all(w.lower() not in _FUNCTION_WORDS for w in words)
    )


_FUNCTION_WORDS = frozenset(
    ["a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "at", "by", "from", "is", "are"]
)


# --- the rules, in order -------------------------------------------------------------------------

Rule = Callable[[Line], bool]


def _share(line: Line) -> bool:
    """Share buttons: 'Share this with Facebook', 'Tweet', 'Share on WhatsApp', 'Email'."""
    return line.n_words <= 16 and bool(_SHARE_LINE.match(line.text)) and not line.ends_sentence


def _chrome(line: Line) -> bool:
    """Site furniture: skip links, log in, search, cookie and browser notices, copyright, comments."""
    if line.n_words <= 8 and _CHROME.match(line.text):
        return True
    if is_copyright(line) or is_comments_marker(line) or _READ_TIME.match(line.text):
        return True
    if line.n_words <= 12 and _TECH_NOTICE.search(line.text):
        return True
    if _TAGS.match(line.text) and not line.ends_sentence:
        return True
    # A run of glued words or a bare URL: "FinancialGovernment SolutionsLegal...", "%2Ftennis%2F".
    return bool(_URLISH.search(line.text)) and line.n_words <= 6 or not line.has_letters


def _newsletter(line: Line) -> bool:
    """Newsletter and subscription pitches: 'Sign up for ...', 'Get ... in your inbox'."""
    return line.n_words <= 20 and bool(_NEWSLETTER.search(line.text))


def _promo(line: Line) -> bool:
    """Advertising and sponsorship: 'Advertisement', 'Sponsored by', 'Powered by', 'Donate'."""
    return line.n_words <= 12 and bool(_PROMO.match(line.text))


def _related(line: Line) -> bool:
    """A link to another story ('Related: ...', '[Read: ...]') or a label opening a list of them."""
    if is_related_label(line):
        return True
    return line.n_words <= 25 and bool(_RELATED_LINE.match(line.text))


_RECOMMENDED = re.compile(
    r"^(?:recommended\b|you (?:may|might) (?:also )?like|"
    r"(?:sponsored|promoted|partner) (?:stories|links|content)|(?:from )?around the web|from our partners)",
    _I,
)


def _recommended(line: Line) -> bool:
    """A label for recommended or sponsored links: 'Recommended from our partners', 'You may also like'."""
    return line.n_words <= 8 and not line.ends_sentence and bool(_RECOMMENDED.match(line.text))


def _caption(line: Line) -> bool:
    """A caption: 'Image caption ...', a gallery label, or a line that ends with a photo credit."""
    if is_caption_label(line) or (line.n_words <= 80 and _PICTURE_PLACE.match(line.text)):
        return True
    return line.n_words <= 80 and credit_tail(line.text) is not None


def _credit(line: Line) -> bool:
    """A credit: a photo credit alone, 'Produced in association with ...', 'Reporting by ...'."""
    if is_credit_line(line):
        return True
    return line.n_words <= 60 and bool(_CREDIT_NOTE.search(line.text))


def _byline(line: Line) -> bool:
    return is_byline(line)


def _date(line: Line) -> bool:
    return is_date_line(line)


RULES: tuple[tuple[str, Rule], ...] = (
    ("share", _share),
    ("byline", _byline),
    ("chrome", _chrome),
    ("newsletter", _newsletter),
    ("promo", _promo),
    ("credit", _credit),
    ("caption", _caption),
    ("recommended", _recommended),
    ("related", _related),
    ("date", _date),
)


def line_reason(line: Line) -> str | None:
    """The reason this line is boilerplate on its own, or None if it may be article text."""
    for reason, rule in RULES:
        if rule(line):
            return reason
    return None
