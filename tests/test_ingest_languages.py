"""Plain-text pages in scripts without spaces (Chinese, Japanese) and in Cyrillic, Greek and Arabic.

The pages are short ones written for these tests (invented news, site chrome around it). Each must
give its body paragraphs and sub-headings through the default parser (the learned line model), and
never "no article text found".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import RawDoc, parse
from pipeline.ingest.scripts import count_words, script_words
from pipeline.ingest.text import rule_verdicts

CHINESE = """首页
新闻
体育
登录

河口镇决定重建防洪堤

河口镇议会周二投票决定重建防洪堤，结束了长达十年关于由谁出资、堤坝应该修多高的争论。镇长表示，这项工程将在明年春天开工。

“我们已经等得太久了，”镇长在投票后说。“大海不会等我们，下一场风暴也不会。”

旧堤坝的历史

旧堤坝建于一九五三年，当时一场风暴潮淹没了下城区。多年来它被反复修补，工程师们现在说它更像是一堆补丁，而不是一道堤坝。

去年春天的一次调查发现，堤坝三分之一的长度上都有裂缝，议会在冬天两次因为决堤风险关闭了海滨步道。

下一步怎么办

议会将邀请三家建筑公司投标，预计年底前作出决定。如果天气允许，工程最早可能在二月份开始。

居民们对这项决定反应不一，一些商户担心施工期间游客会减少，但大多数人表示安全更重要。

分享到微信
相关阅读
版权所有 © 2026 河口日报
"""

RUSSIAN = """Главная
Новости
Спорт
Войти

Город у реки решил построить новую дамбу

Городской совет во вторник проголосовал за строительство новой дамбы, положив конец спору, который длился десять лет. По словам мэра, работы начнутся следующей весной.

«Мы ждали слишком долго», — сказала мэр после голосования. «Море не будет ждать нас, и следующий шторм тоже не будет».

История старой дамбы

Старая дамба была построена в 1953 году после того, как штормовой нагон затопил нижнюю часть города. С тех пор её так часто латали, что инженеры называют её скорее ремонтом, чем дамбой.

Прошлой весной обследование выявило трещины на трети её длины, и зимой совет дважды закрывал набережную из-за угрозы прорыва.

Что будет дальше

Совет попросит три строительные компании подать заявки, решение ожидается до конца года. Если позволит погода, работы могут начаться уже в феврале.

Жители встретили решение по-разному: часть владельцев магазинов опасается, что туристов станет меньше, но большинство считает, что безопасность важнее.

Поделиться
Читайте также
© 2026 Речная газета. Все права защищены.
"""

JAPANESE = """ホーム
ニュース
ログイン

川辺の町が新しい堤防の建設を決定

町議会は火曜日、新しい堤防を建設することを決め、十年にわたる議論に終止符を打った。町長によると、工事は来年の春に始まる予定だ。

「私たちは長く待ちすぎました」と町長は投票の後に語った。「海は私たちを待ってくれません。」

古い堤防の歴史

古い堤防は一九五三年の高潮の後に建てられ、何度も修理されてきた。技術者たちは、今では堤防というより修理の跡だと話している。

昨年の春の調査では、堤防の長さの三分の一にひびが見つかり、議会は冬の間に二度遊歩道を閉鎖した。

今後の予定

議会は三つの建設会社に入札を求め、年末までに決定する見込みだ。天候が許せば、工事は二月にも始まる可能性がある。

共有する
関連記事
"""

GREEK = """Αρχική
Ειδήσεις

Η πόλη αποφάσισε να χτίσει νέο ανάχωμα

Το δημοτικό συμβούλιο ψήφισε την Τρίτη την κατασκευή νέου αναχώματος, βάζοντας τέλος σε μια διαμάχη δέκα ετών για το ποιος θα πληρώσει και πόσο ψηλό θα είναι.

«Περιμέναμε πολύ», είπε η δήμαρχος μετά την ψηφοφορία. «Η θάλασσα δεν θα μας περιμένει, ούτε η επόμενη καταιγίδα.»

Η ιστορία του παλιού αναχώματος

Το παλιό ανάχωμα χτίστηκε το 1953 μετά από μια πλημμύρα που κατέκλυσε την κάτω πόλη, και έχει επισκευαστεί τόσες φορές που οι μηχανικοί το περιγράφουν ως περισσότερο επισκευή παρά ανάχωμα.

Τι θα γίνει στη συνέχεια

Το συμβούλιο θα ζητήσει προσφορές από τρεις κατασκευαστικές εταιρείες και η απόφαση αναμένεται έως το τέλος του έτους.

Κοινοποίηση
"""

ARABIC = """الرئيسية
أخبار

المدينة تقرر بناء سد جديد

صوت مجلس المدينة يوم الثلاثاء على بناء سد جديد، منهيا جدلا استمر عشر سنوات حول من سيدفع تكاليف العمل وما هو الارتفاع المناسب للسد الجديد.

وقالت رئيسة البلدية بعد التصويت إن السكان انتظروا طويلا، وإن البحر لن ينتظرهم ولا العاصفة القادمة أيضا.

تاريخ السد القديم

بني السد القديم عام ألف وتسعمائة وثلاثة وخمسين بعد فيضان أغرق الجزء السفلي من المدينة، وقد تم ترميمه مرات كثيرة حتى صار المهندسون يصفونه بأنه ترميم أكثر منه سد.

ماذا بعد

سيطلب المجلس عروضا من ثلاث شركات بناء، ومن المتوقع صدور القرار قبل نهاية العام الجاري إذا سمحت الظروف بذلك.

مشاركة
"""

PAGES = {
    "zh": (CHINESE, ["旧堤坝的历史", "下一步怎么办"], "河口镇决定重建防洪堤"),
    "ru": (RUSSIAN, ["История старой дамбы", "Что будет дальше"], "Город у реки решил построить новую дамбу"),
    "ja": (JAPANESE, ["古い堤防の歴史", "今後の予定"], "川辺の町が新しい堤防の建設を決定"),
    "el": (GREEK, ["Η ιστορία του παλιού αναχώματος", "Τι θα γίνει στη συνέχεια"],
           "Η πόλη αποφάσισε να χτίσει νέο ανάχωμα"),
    "ar": (ARABIC, ["تاريخ السد القديم", "ماذا بعد"], "المدينة تقرر بناء سد جديد"),
}


def _body_lines(page: str) -> list[str]:
    """The page's paragraphs as written: lines of 12 words or more."""
    return [line for line in page.splitlines() if count_words(line) >= 12]


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_page_in_any_script_gives_its_body_and_headings(lang: str) -> None:
    page, headings, title = PAGES[lang]
    article = parse(RawDoc(lang, page, "text", f"{lang}.txt"), IngestConfig())
    assert article.paragraphs == _body_lines(page)
    assert article.headings == headings
    assert article.title == title
    dropped = {d.text for d in article.dropped}
    assert page.splitlines()[0] in dropped  # the menu is not text


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_rules_v1_still_read_cjk_as_before(lang: str) -> None:
    """`rules.v1` keeps its behaviour: a Chinese sentence is one word there, so no paragraph is a
    sentence and the page is rescued to a single paragraph (the reason `learned` reads any script)."""
    page = PAGES[lang][0]
    article = parse(RawDoc(lang, page, "text", f"{lang}.txt"), IngestConfig(text_parser="rules"))
    assert len(article.paragraphs) == 1
    assert article.headings == []


def test_words_of_cjk_are_counted_from_characters() -> None:
    assert count_words("北京是中国的首都") == 4
    assert script_words("Hello 世界和平 ok") == ["Hello", "世界", "和平", "ok"]
    assert count_words("Москва — столица России.") == 3
    assert count_words("The U.S. didn't vote.") == 4  # as `rules.v1` counts English


def test_full_width_stop_ends_a_sentence_only_when_reading_any_script() -> None:
    text = "标题\n\n" + "这是一个很长的句子，里面有很多很多的字，用来测试句子的结尾是否被识别出来。\n"
    wide = rule_verdicts(text, any_script=True).lines[1]
    narrow = rule_verdicts(text).lines[1]
    assert wide.ends_sentence and wide.n_words >= 15
    assert not narrow.ends_sentence and narrow.n_words <= 3  # runs between commas


def test_a_cjk_page_from_a_file_is_never_without_text(tmp_path: Path) -> None:
    from pipeline.ingest import load_article

    path = tmp_path / "zh.txt"
    path.write_text(CHINESE, encoding="utf-8")
    article = load_article(path)
    assert len(article.paragraphs) >= 6
