"""Text rules for HTML blocks: widget headings, promos and related links, credits, heading-like lines.

Each rule is a pattern over the words of one block, stated in general terms (what such a block says),
never a site's name or class. The structural rules (where a block sits in the page) are in `html.py`.
"""

from __future__ import annotations

import re

from pipeline.ingest.scripts import word_count

# Headings that label page furniture, not a part of the article: recirculation ("Related", "More from
# X", "Read more"), sharing, sign-ups, ads, comments, galleries, review boxes, tags and bylines.
WIDGET_HEADING = re.compile(
    r"""^(?:
        (?:more|read\s+more|see\s+more|related|also|see\s+also|read\s+also|further\s+reading|
           recommended|trending|popular|most\s+(?:read|popular|viewed|shared)|top\s+stories|
           editors?['’]?\s+picks?|you\s+(?:may|might)\s+(?:also\s+)?like|what\s+to\s+read\s+next|
           up\s+next|next\s+up|watch|watch\s+next|listen|latest|latest\s+news|in\s+other\s+news)
        (?:\s+(?:on|from|about|in)\b.*|\s+for\s+you|\s+\w+(?:\s+\w+)?\s+(?:news|stories|articles|coverage|videos?))?
      | (?:related|more|other|recent|latest|top|popular)\s+(?:\w+\s+){0,3}
           (?:stories|articles|news|coverage|content|links|posts|reads|videos?|topics|reading)(?:\s+.*)?
      | advertisement|sponsored(?:\s+content)?|promoted(?:\s+stories)?|partner\s+content|ad
      | share(?:\s+(?:this|the|on|via)\b.*)?|share\s+this\s+(?:article|story|page)|follow\s+us.*
      | (?:sign\s+up|subscribe|get)\b.*(?:newsletter|inbox|email|updates).*|newsletters?(?:\s+.*)?
      | (?:join\s+the\s+)?(?:comments?|conversation|discussion)|leave\s+a\s+(?:comment|reply)
      | (?:photo\s+|video\s+)?(?:gallery|slideshow)(?:\s*[:|–—-].*)?|\d+\s+photos|videos?|
        (?:view|see|watch)\s+(?:the\s+)?(?:gallery|slideshow|photos|video)\b.*
      | pros|cons|(?:\w+\s+)?score|rating|key\s+specs|specs|where\s+to\s+buy|buy\s+now
      | tags|topics|filed\s+under|categories|about\s+the\s+authors?|authors?|contributors?|
        more\s+from\s+the\s+authors?
      | sources?|references|footnotes|notes|credits?|disclosure|correction|corrections
      | (?:table\s+of\s+)?contents|in\s+this\s+(?:article|story)|jump\s+to.*|skip\s+to.*
    )[\s.:!?…]*$""",
    re.I | re.X,
)

# The same furniture labels in other languages (Portuguese, Spanish, French, German, Italian, Russian,
# Indonesian, Chinese, Japanese, Korean): "read also", "related articles", "you may also like",
# "most read", "comments".
WIDGET_HEADING_INTL = re.compile(
    r"""^(?:
        (?:leia|veja|lea|lee|lire|leggi|baca)\s+(?:tamb[eé]m|tambi[eé]n|aussi|anche|juga|mais|m[aá]s)
      | (?:à|a)\s+lire\s+(?:aussi|[ée]galement)|sur\s+le\s+m[eê]me\s+sujet|(?:articles?|sujets?)\s+li[ée]s?
      | voc[eê]\s+(?:tamb[eé]m\s+)?(?:pode|poder[aá])\s+(?:gostar|se\s+interessar)
      | (?:te|le)\s+puede\s+interesar|(?:not[ií]cias|mat[eé]rias|art[ií]culos|artigos|articoli)\s+
        (?:relacionad[oa]s|correlat[ie]|relacionad[oa]s)
      | (?:mais|m[aá]s|les\s+plus|pi[uù])\s+(?:lid[oa]s|le[ií]d[oa]s|lus|lett[ie]|vist[oa]s)
      | potrebbe\s+interessarti|ti\s+potrebbe\s+interessare
      | lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|das\s+k[öo]nnte\s+sie\s+auch\s+interessieren
      | meistgelesen|kommentare|commentaires|coment[aá]rios|commenti|comentarios
      | (?:читайте|смотрите)\s+(?:также|еще|ещё)|по\s+теме|похожие\s+(?:статьи|новости|материалы|записи)
      | популярное|комментарии|реклама|berita\s+terkait|artikel\s+terkait
      | 相关(?:阅读|文章|新闻|推荐)|推荐阅读|延伸阅读|热门(?:文章|新闻)|猜你喜欢
      | 関連記事|あわせて読みたい|人気記事|おすすめ記事|こちらもおすすめ
      | 관련\s*기사|많이\s*본\s*뉴스|인기\s*기사
    )[\s.:!?…。：]*$""",
    re.I | re.X,
)
# A line that cannot be a sub-heading whatever its markup: wholly in brackets (a photo credit
# "[Photo: ...]", an aside "(UNDERSTATEMENT OF THE YEAR)"), a bare address, or a byline.
NOT_HEADING = re.compile(r"^\s*(?:\[[^\[\]]*\]|\([^()]*\)|(?:https?://|www\.)\S+|by\s+[A-Z]\S*\s.*)\s*$")

# A short line that points elsewhere: "Related: ...", "[Read: ...]", "(Graphic: ... - here)", "READ MORE".
PROMO_LINE = re.compile(
    r"""^[\[(]?\s*(?:related(?:\s+\w+)?|read(?:\s+more)?|read\s+also|see\s+also|also\s+read|more|watch|
        listen|graphic|graphics|interactive|video|photos?|gallery|podcast|opinion|explainer|
        click\s+here|sign\s+up|subscribe|follow\s+us|download)\s*[:|–—-]""",
    re.I | re.X,
)
# A whole line in square brackets or parentheses: an inline promo or editor's aside ("[Read: ...]").
BRACKETED = re.compile(r"^\s*(\[[^\[\]]+\]|\([^()]+\))\s*$")
# Newsletter / subscription / share blurbs.
SIGNUP = re.compile(
    r"(?:sign\s+up\s+(?:for|to)|subscribe\s+(?:to|for|now)|in\s+your\s+inbox|"
    r"newsletter|follow\s+us\s+on|share\s+this\s+(?:article|story)|download\s+(?:our|the)\s+app)",
    re.I,
)
# Credits and wire boilerplate at the end of a story.
CREDIT = re.compile(
    r"""^[\[(]?\s*(?:
        (?:additional\s+)?(?:reporting|writing|editing|research|graphics|compiled)\s+by\b.*
      | (?:with\s+)?(?:additional\s+)?reporting\s+(?:by|from)\b.*
      | [\w.,&'’\- ]{2,80}\s+contributed(?:\s+reporting)?\s+to\s+this\s+(?:report|story|article)\b.*
      | [\w.'’\- ]{2,60}\s+(?:is|are)\s+on\s+(?:twitter|facebook|instagram)\b.*
      | follow\s+[\w.'’\- ]{2,40}\s+on\s+(?:twitter|facebook|instagram)\b.*
      | source:\s+[\w\s,.&]{2,40}
      | (?:copyright|©)\s.*
      | all\s+rights\s+reserved.*
      | this\s+(?:article|story)\s+(?:was\s+)?(?:originally\s+)?(?:appeared|published)\s+(?:on|in)\b.*
      | a\s+version\s+of\s+this\s+article\s+appears\s+in\s+print\b.*
    )[\s.)\]]*$""",
    re.I | re.X,
)
# A line ending in a full stop, comma or semicolon (Latin, CJK full-width and ideographic, Arabic) is a
# sentence or a fragment of one, not a heading.
_SENTENCE_END = re.compile("[.;,\u3002\uff0c\uff1b\u3001\u060c\u061b]$")
_LETTERS = re.compile(r"[^\W\d_]")


def is_widget_heading(text: str) -> bool:
    """A label of page furniture ("Related", "More from ...", "Leia também", "Читайте также")."""
    t = text.strip()
    return bool(WIDGET_HEADING.match(t) or WIDGET_HEADING_INTL.match(t))


def is_not_heading(text: str) -> bool:
    """A line that is never a sub-heading: in brackets, a bare URL, a byline (`NOT_HEADING`)."""
    return bool(NOT_HEADING.match(text))


def promo_reason(text: str, words: int, link_share: float) -> str | None:
    """Why a paragraph is a promo / related link / credit rather than article text, or None."""
    t = text.strip()
    if CREDIT.match(t) and words <= 40:
        return "credit"
    if words <= 30 and BRACKETED.match(t) and (PROMO_LINE.match(t) or SIGNUP.search(t) or link_share >= 0.3):
        return "related"
    if words <= 25 and PROMO_LINE.match(t):
        return "related"
    if words <= 30 and SIGNUP.search(t):
        return "promo"
    return None


def is_all_caps_line(text: str) -> bool:
    """A short line written in capitals (`US FALLS`): the wire-copy convention for a sub-heading."""
    cased = [ch for ch in _LETTERS.findall(text) if ch.lower() != ch.upper()]
    return len(cased) >= 4 and all(ch.isupper() for ch in cased)


def looks_like_heading_text(text: str, max_words: int) -> bool:
    """Short, not a sentence fragment (no trailing comma / semicolon / period), has letters."""
    words = word_count(text)
    if not words or words > max_words:
        return False
    if _SENTENCE_END.search(text.strip()) and not text.strip().endswith("..."):
        return False
    return bool(_LETTERS.search(text))
